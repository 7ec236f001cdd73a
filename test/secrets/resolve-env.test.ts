import { describe, expect, it } from 'vitest';
import { envSchema, literalEnv, resolveEnv, SecretResolutionError, secretRefsOf } from '../../src/core/secrets/env.js';
import { REDACTED } from '../../src/core/secrets/redact.js';
import type { ServiceSpec } from '../../src/core/resources/service.js';
import type { DeployTarget, VersionState } from '../../src/ports/deploy-target.js';
import { createEngineSecrets, redactingTarget, targetEnvOf } from '../../src/engine/secrets.js';
import { FakeSecretProvider } from './fake-secret-provider.js';

const ref = (name: string, key: string) => ({ secretRef: { name, key } });

describe('env schema', () => {
  it('accepts literal strings and secretRefs side by side', () => {
    const env = { LOG_LEVEL: 'debug', DB_PASSWORD: ref('db', 'password') };
    expect(envSchema.parse(env)).toEqual(env);
  });

  it('refuses malformed references and variable names', () => {
    expect(envSchema.safeParse({ X: { secretRef: { name: 'db' } } }).success).toBe(false);
    expect(envSchema.safeParse({ X: { secretRef: { name: 'Not_A_Name', key: 'k' } } }).success).toBe(false);
    expect(envSchema.safeParse({ X: { secretRef: { name: 'db', key: '..' } } }).success).toBe(false);
    expect(envSchema.safeParse({ X: { secretRef: { name: 'db', key: 'k' }, extra: 1 } }).success).toBe(false);
    expect(envSchema.safeParse({ '1BAD': 'x' }).success).toBe(false);
    expect(envSchema.safeParse({ X: 3 }).success).toBe(false);
  });

  it('separates literals from references', () => {
    const env = { A: 'a', B: ref('db', 'password'), C: ref('api', 'token') };
    expect(literalEnv(env)).toEqual({ A: 'a' });
    expect(secretRefsOf(env)).toEqual([
      { variable: 'B', ref: { name: 'db', key: 'password' } },
      { variable: 'C', ref: { name: 'api', key: 'token' } },
    ]);
  });
});

describe('resolveEnv', () => {
  it('resolves references, keeps literals, and returns the secret values to redact (longest first)', async () => {
    const provider = new FakeSecretProvider({ db: { password: 'pw-123456' }, api: { token: 'tok-abcdefghijk' } });
    const resolved = await resolveEnv({ LOG: 'info', DB: ref('db', 'password'), API: ref('api', 'token'), AGAIN: ref('db', 'password') }, (r) => provider.resolve(r));
    expect(resolved.env).toEqual({ LOG: 'info', DB: 'pw-123456', API: 'tok-abcdefghijk', AGAIN: 'pw-123456' });
    expect(Object.keys(resolved.env)).toEqual(['LOG', 'DB', 'API', 'AGAIN']);
    expect(resolved.secrets).toEqual(['tok-abcdefghijk', 'pw-123456']);
    // Each distinct reference is asked once.
    expect(provider.resolved).toHaveLength(2);
  });

  it('overlays layers in order: a later layer replaces a variable (literal or secret)', async () => {
    const provider = new FakeSecretProvider({ db: { password: 'service-level-pw', other: 'deployment-level-pw' } });
    const resolved = await resolveEnv(
      [{ A: 'service', B: ref('db', 'password'), C: ref('db', 'password') }, undefined, { B: 'deployment', C: ref('db', 'other') }],
      (r) => provider.resolve(r),
    );
    expect(resolved.env).toEqual({ A: 'service', B: 'deployment', C: 'deployment-level-pw' });
    // The replaced reference is not even resolved, and its value is not reported.
    expect(resolved.secrets).toEqual(['deployment-level-pw']);
  });

  it('reports every missing or unreadable reference at once, naming variables and references, never values', async () => {
    const provider = new FakeSecretProvider({ db: { password: 'the-real-password' } });
    const error = await resolveEnv(
      { OK: ref('db', 'password'), MISSING_KEY: ref('db', 'nope'), MISSING_SECRET: ref('ghost', 'x'), BROKEN: ref('broken', 'k') },
      async (r) => {
        if (r.name === 'broken') throw new Error('secret broken/k failed its integrity check');
        return provider.resolve(r);
      },
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SecretResolutionError);
    const message = (error as Error).message;
    expect(message).toBe(
      'environment variable BROKEN: secret broken/k could not be read: secret broken/k failed its integrity check; ' +
        'environment variable MISSING_KEY: secret db/nope does not exist; environment variable MISSING_SECRET: secret ghost/x does not exist',
    );
    expect(message).not.toContain('the-real-password');
    expect((error as SecretResolutionError).unresolved.map((u) => u.variable)).toEqual(['BROKEN', 'MISSING_KEY', 'MISSING_SECRET']);
  });

  it('an env without references needs no provider', async () => {
    expect(await resolveEnv({ A: 'x' }, () => Promise.reject(new Error('not called')))).toEqual({ env: { A: 'x' }, secrets: [] });
    expect(await resolveEnv(undefined, () => Promise.reject(new Error('not called')))).toEqual({ env: {}, secrets: [] });
  });
});

describe('engine secrets (src/engine/secrets.ts)', () => {
  const service = (env: Record<string, unknown>, prodEnv?: Record<string, unknown>): ServiceSpec =>
    ({
      owner: 'team',
      tier: 'standard',
      target: { type: 'process', command: 'run', env },
      ...(prodEnv ? { environments: { prod: { target: { type: 'process', command: 'run', env: prodEnv } } } } : {}),
    }) as unknown as ServiceSpec;

  it("adds the service target's secretRefs (not its literals) under the Deployment's env, and feeds the redactor", async () => {
    const secrets = createEngineSecrets({ provider: new FakeSecretProvider({ db: { password: 'service-secret-1' }, api: { token: 'deploy-secret-22' } }) });
    const resolved = await secrets.envFor(service({ LITERAL: 'stays-in-target-config', DB: ref('db', 'password') }), 'default', { API: ref('api', 'token'), MODE: 'canary' });
    expect(resolved?.env).toEqual({ DB: 'service-secret-1', API: 'deploy-secret-22', MODE: 'canary' });
    expect(secrets.redactor.redact('service-secret-1 deploy-secret-22')).toBe(`${REDACTED} ${REDACTED}`);
  });

  it("uses the environment's own target env, and returns undefined when there is nothing to add", async () => {
    const secrets = createEngineSecrets({ provider: new FakeSecretProvider({ db: { password: 'prod-only-secret', dev: 'dev-only-secret' } }) });
    const spec = service({ DB: ref('db', 'dev') }, { DB: ref('db', 'password') });
    expect(targetEnvOf(spec, 'prod')).toEqual({ DB: ref('db', 'password') });
    expect((await secrets.envFor(spec, 'prod', undefined))?.env).toEqual({ DB: 'prod-only-secret' });
    expect((await secrets.envFor(spec, 'default', undefined))?.env).toEqual({ DB: 'dev-only-secret' });
    expect(await secrets.envFor(service({ LITERAL: 'x' }), 'default', undefined)).toBeUndefined();
  });

  it('without a provider, a reference fails with a clear message and literals still work', async () => {
    const secrets = createEngineSecrets();
    await expect(secrets.envFor(service({}), 'default', { DB: ref('db', 'password') })).rejects.toThrow(
      'environment variable DB: secret db/password cannot be resolved: no secret provider is configured',
    );
    expect((await secrets.envFor(service({}), 'default', { A: 'plain' }))?.env).toEqual({ A: 'plain' });
  });

  it('redactingTarget blanks secret values out of version messages and log lines', async () => {
    const secrets = createEngineSecrets({ provider: new FakeSecretProvider({ db: { password: 'leaky-password-9' } }) });
    await secrets.envFor(service({}), 'default', { DB: ref('db', 'password') });
    const state: VersionState = { version: 'v1', phase: 'failed', endpoints: [], healthy: false, restarts: 0, message: 'exited: connect with leaky-password-9 refused' };
    const inner: DeployTarget = {
      capabilities: { replicas: false, logs: true },
      ensure: async () => state,
      observe: async () => [state, { ...state, version: 'v2', message: undefined }],
      retire: async () => undefined,
      logs: async (version) => (version === 'v1' ? ['using leaky-password-9', 'ok'] : null),
      close: async () => undefined,
    };
    const target = redactingTarget(inner, secrets.redactor);
    expect((await target.ensure({ version: 'v1', replicas: 1 })).message).toBe(`exited: connect with ${REDACTED} refused`);
    const observed = await target.observe();
    expect(observed[0]!.message).toBe(`exited: connect with ${REDACTED} refused`);
    expect(observed[1]!.message).toBeUndefined();
    expect(await target.logs('v1', 10)).toEqual([`using ${REDACTED}`, 'ok']);
    expect(await target.logs('v2', 10)).toBeNull();
    expect(target.capabilities).toBe(inner.capabilities);
  });
});
