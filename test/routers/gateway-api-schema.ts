/**
 * Validates objects against the shipped Gateway API HTTPRoute v1 schema
 * (test/fixtures/gateway-api/httproute-v1.schema.json, see its README) the way the API server
 * does, as far as a JSON Schema validator can:
 * 1. structural defaults are filled in (ajv `useDefaults`), as the API server defaults before it
 *    validates;
 * 2. the schema is checked on the defaulted object, together with the Kubernetes extensions:
 *    `x-kubernetes-list-type: map` (no two items with the same `x-kubernetes-list-map-keys`),
 *    `x-kubernetes-list-type: set` (no duplicates) and `x-kubernetes-validations` (each CEL rule
 *    evaluated with @bufbuild/cel, `self` bound to the value; field names that are CEL reserved
 *    words are escaped as `__name__`, as Kubernetes does).
 * Not emulated: CEL cost limits, transition rules (`oldSelf`), metadata validation.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { celEnv, isCelError, parse, plan, type CelInput } from '@bufbuild/cel';
import { Ajv, type AnySchemaObject, type ErrorObject, type ValidateFunction } from 'ajv';

export const HTTPROUTE_SCHEMA_FILE = path.resolve(import.meta.dirname, '../fixtures/gateway-api/httproute-v1.schema.json');
export const httpRouteSchema = JSON.parse(readFileSync(HTTPROUTE_SCHEMA_FILE, 'utf8')) as AnySchemaObject;

const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** CEL reserved words (github.com/google/cel-spec), escaped `__word__` in Kubernetes CEL. */
const CEL_RESERVED = new Set(['true', 'false', 'null', 'in', 'as', 'break', 'const', 'continue', 'else', 'for', 'function', 'if', 'import', 'let', 'loop', 'package', 'namespace', 'return', 'var', 'void', 'while']);

function toCel(value: unknown): CelInput {
  if (Array.isArray(value)) return value.map(toCel);
  if (value !== null && typeof value === 'object') {
    return new Map(Object.entries(value).map(([key, v]) => [CEL_RESERVED.has(key) ? `__${key}__` : key, toCel(v)]));
  }
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  return value as CelInput;
}

const celEnvironment = celEnv();
const programs = new Map<string, ReturnType<typeof plan>>();
function program(rule: string) {
  let p = programs.get(rule);
  if (!p) {
    p = plan(celEnvironment, parse(rule));
    programs.set(rule, p);
  }
  return p;
}

interface CelRule {
  rule: string;
  message?: string;
}

type KeywordValidate = ((schema: unknown, data: unknown) => boolean) & { errors?: Partial<ErrorObject>[] };

function newAjv(useDefaults: boolean, checkExtensions: boolean): Ajv {
  const ajv = new Ajv({ allErrors: true, useDefaults, strict: true, strictTypes: false });
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= INT32.min && n <= INT32.max });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  ajv.addFormat('date-time', DATE_TIME);

  const validations: KeywordValidate = (schema, data) => {
    if (!checkExtensions) return true;
    const failures: Partial<ErrorObject>[] = [];
    for (const { rule, message } of schema as CelRule[]) {
      let outcome: unknown;
      try {
        outcome = program(rule)({ self: toCel(data) });
      } catch (error) {
        outcome = error;
      }
      if (outcome !== true) {
        const why = isCelError(outcome) || outcome instanceof Error ? ` (evaluation error: ${(outcome as Error).message})` : '';
        failures.push({ keyword: 'x-kubernetes-validations', message: `${message ?? `failed rule: ${rule}`}${why}`, params: { rule } });
      }
    }
    validations.errors = failures;
    return failures.length === 0;
  };
  ajv.addKeyword({ keyword: 'x-kubernetes-validations', schemaType: 'array', errors: true, validate: validations });

  const listType: KeywordValidate = (schema, data) => {
    listType.errors = [];
    if (!checkExtensions || !Array.isArray(data) || (schema !== 'set' && schema !== 'map')) return true;
    if (schema === 'set') {
      const seen = new Set(data.map((item) => JSON.stringify(item)));
      if (seen.size !== data.length) listType.errors.push({ keyword: 'x-kubernetes-list-type', message: 'duplicate items in a list of type set', params: {} });
    }
    return listType.errors.length === 0;
  };
  ajv.addKeyword({ keyword: 'x-kubernetes-list-type', schemaType: 'string', errors: true, validate: listType });

  const mapKeys: KeywordValidate = (schema, data) => {
    mapKeys.errors = [];
    if (!checkExtensions || !Array.isArray(data)) return true;
    const keys = schema as string[];
    const seen = new Set<string>();
    for (const item of data) {
      const key = JSON.stringify(keys.map((k) => (item as Record<string, unknown>)?.[k] ?? null));
      if (seen.has(key)) mapKeys.errors.push({ keyword: 'x-kubernetes-list-map-keys', message: `duplicate entries for key ${key} in a list of type map`, params: { key } });
      seen.add(key);
    }
    return mapKeys.errors.length === 0;
  };
  ajv.addKeyword({ keyword: 'x-kubernetes-list-map-keys', schemaType: 'array', errors: true, validate: mapKeys });
  return ajv;
}

let compiled: { defaults: ValidateFunction; check: ValidateFunction } | null = null;
function validators() {
  compiled ??= { defaults: newAjv(true, false).compile(httpRouteSchema), check: newAjv(false, true).compile(httpRouteSchema) };
  return compiled;
}

export interface HttpRouteValidation {
  ok: boolean;
  /** `instancePath: message` per failure. */
  errors: string[];
  /** A copy of the object with the schema's defaults filled in. */
  defaulted: Record<string, unknown>;
}

/** Validates a copy of `object` (defaults applied first); the argument is not modified. */
export function validateHttpRoute(object: unknown): HttpRouteValidation {
  const { defaults, check } = validators();
  const defaulted = structuredClone(object) as Record<string, unknown>;
  defaults(defaulted);
  const ok = check(defaulted) as boolean;
  const errors = ok ? [] : (check.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? e.keyword}`);
  return { ok, errors, defaulted };
}
