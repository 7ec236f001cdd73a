/**
 * A control plane started again after a SIGKILL takes its dead predecessor's shard leases at once
 * (instead of standing still for the lease TTL), and never takes a lease from a live holder or from
 * a holder it cannot identify. The fencing token still rises, so the old holder could not write.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/adapters/store/sqlite.js';
import { readProcStat } from '../../src/adapters/targets/process/procfs.js';
import { createController, createRuntimeRegistry, SHARD_COUNT } from '../../src/engine/index.js';
import { isAbandonedHolder, localHostKey, processHolderId } from '../../src/engine/holder.js';
import type { Store } from '../../src/ports/store.js';
import { silentLogger } from './helpers.js';
import { memoryRuntime } from './memory-runtime.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-holder-'));
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** A live child process and its /proc start time; `end()` kills it and waits until it is gone. */
async function child(): Promise<{ pid: number; startTime: number; end(): Promise<void> }> {
  const proc = spawn('sleep', ['30'], { stdio: 'ignore' });
  cleanups.push(() => void proc.kill('SIGKILL'));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const pid = proc.pid!;
  let stat = readProcStat(pid);
  for (let tries = 0; !stat && tries < 50; tries += 1) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    stat = readProcStat(pid);
  }
  return {
    pid,
    startTime: stat!.startTime,
    end: async () => {
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

async function storeWithLeasesHeldBy(holder: string): Promise<Store> {
  const store = await openSqliteStore({ file: path.join(dir, `${Math.random().toString(36).slice(2)}.db`) });
  cleanups.push(() => store.close());
  await store.transaction(async (stores) => {
    for (let shard = 0; shard < SHARD_COUNT; shard += 1) expect(await stores.leases.acquire(`engine/shard-${shard}`, holder, 60_000, new Date())).not.toBeNull();
  });
  return store;
}

const tokens = async (store: Store) => Promise.all(Array.from({ length: SHARD_COUNT }, async (_, shard) => (await store.read.leases.get(`engine/shard-${shard}`))!));

const controllerOn = (store: Store) => createController({ store, runtimes: createRuntimeRegistry(async () => memoryRuntime()), logger: silentLogger, rescanMs: 60_000 });

describe.skipIf(localHostKey === null)('lease holders that died on this host (needs Linux /proc)', () => {
  it('tells a dead process of this host from a live one, another host, a reused pid and an id of another form', async () => {
    const live = await child();
    const holder = processHolderId(live.pid, live.startTime, localHostKey!);
    expect(isAbandonedHolder(holder)).toBe(false);
    // The same pid with another start time is another process: the holder is gone.
    expect(isAbandonedHolder(processHolderId(live.pid, live.startTime + 1, localHostKey!))).toBe(true);
    // Another boot or pid namespace: cannot be judged from here.
    expect(isAbandonedHolder(processHolderId(live.pid, live.startTime + 1, '0123456789abcdef'))).toBe(false);
    expect(isAbandonedHolder('controller-a')).toBe(false);
    expect(isAbandonedHolder(`engine-${live.pid}`)).toBe(false);
    await live.end();
    expect(isAbandonedHolder(holder)).toBe(true);
  });

  it('a new controller takes every shard from a SIGKILLed predecessor at once, with new fencing tokens', async () => {
    const dead = await child();
    const holder = processHolderId(dead.pid, dead.startTime, localHostKey!);
    await dead.end();
    const store = await storeWithLeasesHeldBy(holder);
    const before = await tokens(store);

    const controller = controllerOn(store);
    await controller.start();
    try {
      // Without the takeover: no shard until the 60 s leases expire.
      expect(controller.ownedShards()).toHaveLength(SHARD_COUNT);
      const after = await tokens(store);
      for (let shard = 0; shard < SHARD_COUNT; shard += 1) {
        expect(after[shard]!.holder).toBe(controller.holder);
        expect(after[shard]!.fencingToken).toBeGreaterThan(before[shard]!.fencingToken);
      }
    } finally {
      await controller.stop();
    }
  });

  it('leaves the leases of a live process, and of holders it cannot identify, until they expire', async () => {
    const live = await child();
    for (const holder of [processHolderId(live.pid, live.startTime, localHostKey!), 'engine-on-another-host']) {
      const store = await storeWithLeasesHeldBy(holder);
      const controller = controllerOn(store);
      await controller.start();
      expect(controller.ownedShards()).toEqual([]);
      await controller.stop();
      expect((await tokens(store)).every((lease) => lease.holder === holder)).toBe(true);
    }
    await live.end();
  });
});
