import { sql, type Kysely, type Selectable } from 'kysely';
import { chainEvent, GENESIS_HASH, type AuditEventBody, type ChainedAuditEvent } from '../../core/audit/chain.js';
import type { KindName, Role } from '../../core/resources/kinds.js';
import {
  ConflictError,
  NotFoundError,
  type AuditQuery,
  type AuditRepository,
  type Lease,
  type LeaseRepository,
  type ListQuery,
  type NewObject,
  type ObjectChanges,
  type ObjectRepository,
  type Page,
  type SecretKeyRecord,
  type SecretRepository,
  type Store,
  type StoredSecretValue,
  type StoredObject,
  type Stores,
  type TokenRecord,
  type TokenRepository,
} from '../../ports/store.js';
import type { StoreDialect } from './migrations.js';
import type { AuditEventsTable, Database, LeasesTable, ObjectsTable, SecretsTable, TokensTable } from './schema.js';

export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;

/** Far enough in the past that a released lease counts as expired whatever clock callers use. */
const RELEASED_AT = '1970-01-01T00:00:00.000Z';

/** Two-key advisory lock namespace ("RGLT"); the second key is the schema, so schemas do not contend. */
const ADVISORY_LOCK_NAMESPACE = 0x52474c54;

const MAX_TRANSACTION_ATTEMPTS = 5;

export interface KyselyStoreOptions {
  /** Clock for createdAt/updatedAt; tests may pin it. */
  now?: () => Date;
}

/** What the repositories share: how to read this dialect's rows, and the clock. */
interface Context {
  readonly dialect: StoreDialect;
  readonly now: () => Date;
  readonly readJson: (value: unknown) => unknown;
}

/**
 * The Store on any Kysely database migrated by migrations.ts. The caller owns opening the
 * database (sqlite.ts, postgres.ts); `close()` destroys it.
 */
export function createKyselyStore(db: Kysely<Database>, dialect: StoreDialect, options: KyselyStoreOptions = {}): Store {
  const ctx: Context = Object.freeze({
    dialect,
    now: options.now ?? (() => new Date()),
    // pg parses jsonb itself; SQLite hands back the text we wrote.
    readJson: dialect === 'sqlite' ? (value: unknown) => JSON.parse(value as string) as unknown : (value: unknown) => value,
  });
  const read = repositories(db, ctx);
  let closing: Promise<void> | undefined;

  return Object.freeze({
    dialect,
    read,
    async transaction<T>(work: (stores: Stores) => Promise<T>): Promise<T> {
      for (let attempt = 1; ; attempt += 1) {
        try {
          return await beginTransaction(db, ctx).execute((trx) => work(repositories(trx, ctx)));
        } catch (error) {
          if (attempt >= MAX_TRANSACTION_ATTEMPTS || !isRetryable(error, dialect)) throw error;
          await sleep(10 * 2 ** attempt * Math.random());
        }
      }
    },
    async ping(): Promise<void> {
      await sql`select 1`.execute(db);
    },
    close(): Promise<void> {
      closing ??= db.destroy();
      return closing;
    },
  });
}

/**
 * PostgreSQL transactions are pinned to READ COMMITTED whatever the server default: the
 * optimistic `WHERE version = ?` checks and the audit lock rely on each statement seeing the
 * latest committed rows. SQLite transactions are serialised by the driver (BEGIN IMMEDIATE).
 */
function beginTransaction(db: Kysely<Database>, ctx: Context) {
  return ctx.dialect === 'postgres' ? db.transaction().setIsolationLevel('read committed') : db.transaction();
}

/** Failures after which running the whole transaction again can succeed. */
function isRetryable(error: unknown, dialect: StoreDialect): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return dialect === 'postgres' ? code === '40001' || code === '40P01' : code.startsWith('SQLITE_BUSY');
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function repositories(db: Kysely<Database>, ctx: Context): Stores {
  return Object.freeze({
    objects: objectRepository(db, ctx),
    audit: auditRepository(db, ctx),
    tokens: tokenRepository(db, ctx),
    leases: leaseRepository(db),
    secrets: secretRepository(db, ctx),
  });
}

const toIso = (value: string | Date): string => (value instanceof Date ? value.toISOString() : value);
/** Normalises a caller's timestamp so both dialects return the same string. */
const normalizeTime = (value: string): string => new Date(value).toISOString();
const json = (value: unknown): string => JSON.stringify(value);

function clampLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_LIST_LIMIT;
  return Math.min(Math.max(Math.floor(limit), 1), MAX_LIST_LIMIT);
}

/** Cursors are opaque to callers; inside they are the last name of the previous page. */
const encodeCursor = (name: string): string => Buffer.from(name, 'utf8').toString('base64url');

function decodeCursor(cursor: string): string {
  const name = Buffer.from(cursor, 'base64url').toString('utf8');
  if (encodeCursor(name) !== cursor) throw new RangeError('invalid list cursor');
  return name;
}

/** Runs `work` atomically: inside the caller's transaction if there is one, else in a new one. */
function atomically<T>(db: Kysely<Database>, ctx: Context, work: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db) : beginTransaction(db, ctx).execute(work);
}

// ---------------------------------------------------------------------------------------------
// Objects

function objectRepository(db: Kysely<Database>, ctx: Context): ObjectRepository {
  const toObject = (row: Selectable<ObjectsTable>): StoredObject => ({
    kind: row.kind as KindName,
    name: row.name,
    labels: ctx.readJson(row.labels) as Record<string, string>,
    annotations: ctx.readJson(row.annotations) as Record<string, string>,
    spec: ctx.readJson(row.spec) as Record<string, unknown>,
    status: row.status === null ? null : (ctx.readJson(row.status) as Record<string, unknown>),
    version: Number(row.version),
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
  });

  const currentVersion = async (kind: KindName, name: string): Promise<number | null> => {
    const row = await db.selectFrom('objects').select('version').where('kind', '=', kind).where('name', '=', name).executeTakeFirst();
    return row ? Number(row.version) : null;
  };

  /** Every label must match. PostgreSQL uses jsonb containment (GIN-indexed); SQLite json_each, which needs no path quoting for keys like `app.kubernetes.io/name`. */
  const labelFilter = (labels: Record<string, string>) => {
    if (ctx.dialect === 'postgres') return [sql<boolean>`objects.labels @> cast(${json(labels)} as jsonb)`];
    return Object.entries(labels).map(
      ([key, value]) => sql<boolean>`exists (select 1 from json_each(objects.labels) as label where label.key = ${key} and label.value = ${value})`,
    );
  };

  return {
    async get(kind, name) {
      const row = await db.selectFrom('objects').selectAll().where('kind', '=', kind).where('name', '=', name).executeTakeFirst();
      return row ? toObject(row) : null;
    },

    async list(kind, query: ListQuery = {}): Promise<Page<StoredObject>> {
      const limit = clampLimit(query.limit);
      let select = db.selectFrom('objects').selectAll().where('kind', '=', kind);
      if (query.cursor) select = select.where('name', '>', decodeCursor(query.cursor));
      for (const condition of labelFilter(query.labels ?? {})) select = select.where(condition);
      // One row more than asked tells whether another page exists without a count query.
      const rows = await select.orderBy('name').limit(limit + 1).execute();
      const items = rows.slice(0, limit).map(toObject);
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.name) : null };
    },

    async create(object: NewObject) {
      const at = ctx.now().toISOString();
      const row = await db
        .insertInto('objects')
        .values({
          kind: object.kind,
          name: object.name,
          labels: json(object.labels ?? {}),
          annotations: json(object.annotations ?? {}),
          spec: json(object.spec),
          status: object.status == null ? null : json(object.status),
          version: 1,
          created_at: at,
          updated_at: at,
        })
        // Not a unique-violation error: in PostgreSQL that would abort the caller's transaction.
        .onConflict((oc) => oc.columns(['kind', 'name']).doNothing())
        .returningAll()
        .executeTakeFirst();
      if (row) return toObject(row);
      throw new ConflictError(`${object.kind} "${object.name}" already exists`, await currentVersion(object.kind, object.name));
    },

    async update(kind, name, expectedVersion, changes: ObjectChanges) {
      const status = changes.status === undefined ? undefined : changes.status === null ? null : json(changes.status);
      const query = db
        .updateTable('objects')
        .set({
          ...(changes.labels !== undefined && { labels: json(changes.labels) }),
          ...(changes.annotations !== undefined && { annotations: json(changes.annotations) }),
          ...(changes.spec !== undefined && { spec: json(changes.spec) }),
          ...(status !== undefined && { status }),
          version: sql<number>`version + 1`,
          updated_at: ctx.now().toISOString(),
        })
        // The version check is part of the write itself, so two writers with the same
        // expectedVersion cannot both pass it (PostgreSQL re-checks the row after the first commits).
        .where('kind', '=', kind)
        .where('name', '=', name)
        .where('version', '=', expectedVersion);
      if (ctx.dialect === 'sqlite' && typeof status === 'string') {
        // SQLite stores the status text as written, so it need not come back, and it is parsed
        // only if the caller reads it (the engine's status writes never do).
        const row = await query.returning(['kind', 'name', 'labels', 'annotations', 'spec', 'version', 'created_at', 'updated_at']).executeTakeFirst();
        if (row) return withLazyStatus(toObject({ ...row, status: null }), status);
      } else {
        const row = await query.returningAll().executeTakeFirst();
        if (row) return toObject(row);
      }
      const current = await currentVersion(kind, name);
      if (current === null) throw new NotFoundError(`${kind} "${name}" not found`);
      throw new ConflictError(`${kind} "${name}" is at version ${current}, not ${expectedVersion}`, current);
    },

    async delete(kind, name, expectedVersion) {
      let remove = db.deleteFrom('objects').where('kind', '=', kind).where('name', '=', name);
      if (expectedVersion !== undefined) remove = remove.where('version', '=', expectedVersion);
      const row = await remove.returningAll().executeTakeFirst();
      if (row) return toObject(row);
      const current = expectedVersion === undefined ? null : await currentVersion(kind, name);
      if (current !== null) throw new ConflictError(`${kind} "${name}" is at version ${current}, not ${expectedVersion}`, current);
      return null;
    },
  };
}

/** `object` with its `status` parsed from `text` on first read (an ordinary data property after that). */
function withLazyStatus(object: StoredObject, text: string): StoredObject {
  return Object.defineProperty(object, 'status', {
    configurable: true,
    enumerable: true,
    get(this: StoredObject) {
      const status = JSON.parse(text) as Record<string, unknown>;
      Object.defineProperty(this, 'status', { value: status, writable: true, enumerable: true, configurable: true });
      return status;
    },
    set(this: StoredObject, value: Record<string, unknown> | null) {
      Object.defineProperty(this, 'status', { value, writable: true, enumerable: true, configurable: true });
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Audit

function auditRepository(db: Kysely<Database>, ctx: Context): AuditRepository {
  const toEvent = (row: Selectable<AuditEventsTable>): ChainedAuditEvent => ({
    seq: Number(row.seq),
    time: row.time,
    actor: row.actor,
    action: row.action,
    kind: row.kind,
    name: row.name,
    beforeDigest: row.before_digest,
    afterDigest: row.after_digest,
    // Absent, not undefined-valued: the event must read back exactly as it was hashed.
    ...(row.details !== null && { details: ctx.readJson(row.details) as Record<string, unknown> }),
    prevHash: row.prev_hash,
    hash: row.hash,
  });

  const headIn = async (executor: Kysely<Database>) => {
    const row = await executor.selectFrom('audit_events').selectAll().orderBy('seq', 'desc').limit(1).executeTakeFirst();
    return row ? toEvent(row) : null;
  };

  return {
    append(event) {
      return atomically(db, ctx, async (trx) => {
        // The head read and the insert must not interleave with another appender, or two events
        // would claim the same seq / prevHash. SQLite transactions are already exclusive; in
        // PostgreSQL the lock is held until this transaction ends.
        if (ctx.dialect === 'postgres') await sql`select pg_advisory_xact_lock(${sql.lit(ADVISORY_LOCK_NAMESPACE)}, hashtext(current_schema()))`.execute(trx);
        const head = await headIn(trx);
        const body: AuditEventBody = {
          seq: (head?.seq ?? 0) + 1,
          time: event.time,
          actor: event.actor,
          action: event.action,
          kind: event.kind,
          name: event.name,
          beforeDigest: event.beforeDigest,
          afterDigest: event.afterDigest,
          ...(event.details !== undefined && { details: event.details }),
        };
        const chained = chainEvent(head?.hash ?? GENESIS_HASH, body);
        await trx
          .insertInto('audit_events')
          .values({
            seq: chained.seq,
            time: chained.time,
            actor: chained.actor,
            action: chained.action,
            kind: chained.kind,
            name: chained.name,
            before_digest: chained.beforeDigest,
            after_digest: chained.afterDigest,
            details: chained.details === undefined ? null : json(chained.details),
            prev_hash: chained.prevHash,
            hash: chained.hash,
          })
          .execute();
        return chained;
      });
    },

    async list(query: AuditQuery = {}) {
      let select = db.selectFrom('audit_events').selectAll();
      if (query.afterSeq !== undefined) select = select.where('seq', '>', query.afterSeq);
      if (query.beforeSeq !== undefined) select = select.where('seq', '<', query.beforeSeq);
      if (query.kind !== undefined) select = select.where('kind', '=', query.kind);
      if (query.name !== undefined) select = select.where('name', '=', query.name);
      if (query.actor !== undefined) select = select.where('actor', '=', query.actor);
      if (query.action !== undefined) {
        if (query.action.endsWith('*')) {
          // A prefix. Not LIKE: SQLite's LIKE ignores ASCII case and PostgreSQL's does not, and
          // `%` / `_` in the prefix would need escaping. substr counts characters (code points) in both.
          const prefix = query.action.slice(0, -1);
          const length = [...prefix].length;
          if (length > 0) select = select.where(sql<string>`substr(action, 1, ${length})`, '=', prefix);
        } else {
          select = select.where('action', '=', query.action);
        }
      }
      const rows = await select.orderBy('seq', query.order === 'desc' ? 'desc' : 'asc').limit(clampLimit(query.limit)).execute();
      return rows.map(toEvent);
    },

    head() {
      return headIn(db);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Tokens

function tokenRepository(db: Kysely<Database>, ctx: Context): TokenRepository {
  const toToken = (row: Selectable<TokensTable>): TokenRecord => ({
    id: row.id,
    name: row.name,
    role: row.role as Role,
    hash: row.hash,
    createdAt: toIso(row.created_at),
    revokedAt: row.revoked_at === null ? null : toIso(row.revoked_at),
    user: row.user_name,
  });

  return {
    async create(token) {
      const row = await db
        .insertInto('tokens')
        .values({
          id: token.id,
          name: token.name,
          role: token.role,
          hash: token.hash,
          user_name: token.user ?? null,
          created_at: ctx.now().toISOString(),
          revoked_at: null,
        })
        .onConflict((oc) => oc.doNothing())
        .returningAll()
        .executeTakeFirst();
      if (row) return toToken(row);
      throw new ConflictError(`a token with name "${token.name}" (or the same id or hash) already exists`, null);
    },

    async findByHash(hash) {
      const row = await db.selectFrom('tokens').selectAll().where('hash', '=', hash).executeTakeFirst();
      return row ? toToken(row) : null;
    },

    async list() {
      const rows = await db.selectFrom('tokens').selectAll().orderBy('name').execute();
      return rows.map(toToken);
    },

    async revoke(name, at) {
      const row = await db
        .updateTable('tokens')
        // coalesce keeps the first revocation time when revoke is repeated.
        .set({ revoked_at: sql<string>`coalesce(revoked_at, ${normalizeTime(at)})` })
        .where('name', '=', name)
        .returningAll()
        .executeTakeFirst();
      return row ? toToken(row) : null;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Leases

function leaseRepository(db: Kysely<Database>): LeaseRepository {
  const toLease = (row: Selectable<LeasesTable>): Lease => ({
    name: row.name,
    holder: row.holder,
    fencingToken: Number(row.fencing_token),
    expiresAt: toIso(row.expires_at),
  });

  return {
    async acquire(name, holder, ttlMs, now) {
      if (!(ttlMs > 0) || !Number.isFinite(ttlMs)) throw new RangeError(`lease ttlMs must be a positive number, got ${ttlMs}`);
      const nowIso = now.toISOString();
      const expiresAt = new Date(now.getTime() + ttlMs).toISOString();
      // One statement decides take / renew / refuse, so racing acquirers cannot both win.
      const row = await db
        .insertInto('leases')
        .values({ name, holder, fencing_token: 1, expires_at: expiresAt })
        .onConflict((oc) =>
          oc
            .column('name')
            .doUpdateSet((eb) => ({
              holder: eb.ref('excluded.holder'),
              expires_at: eb.ref('excluded.expires_at'),
              fencing_token: sql<number>`case when leases.holder = excluded.holder then leases.fencing_token else leases.fencing_token + 1 end`,
            }))
            .where((eb) => eb.or([eb('leases.holder', '=', eb.ref('excluded.holder')), eb('leases.expires_at', '<=', nowIso)])),
        )
        .returningAll()
        .executeTakeFirst();
      return row ? toLease(row) : null;
    },

    async release(name, holder) {
      // Expire rather than delete: the row keeps the fencing token, so the next holder's token is
      // still higher than any the old holder may carry.
      await db.updateTable('leases').set({ expires_at: RELEASED_AT }).where('name', '=', name).where('holder', '=', holder).execute();
    },

    async get(name) {
      const row = await db.selectFrom('leases').selectAll().where('name', '=', name).executeTakeFirst();
      return row ? toLease(row) : null;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Secrets (sealed values of the builtin secret provider; the store never sees a plaintext)

function secretRepository(db: Kysely<Database>, ctx: Context): SecretRepository {
  const toValue = (row: Selectable<SecretsTable>): StoredSecretValue => ({
    name: row.name,
    key: row.key,
    keyId: row.key_id,
    algorithm: row.algorithm,
    iv: row.iv,
    ciphertext: row.ciphertext,
    tag: row.tag,
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
  });

  return {
    async get(name, key) {
      const row = await db.selectFrom('secrets').selectAll().where('name', '=', name).where('key', '=', key).executeTakeFirst();
      return row ? toValue(row) : null;
    },

    async list(): Promise<SecretKeyRecord[]> {
      const rows = await db.selectFrom('secrets').select(['name', 'key', 'key_id', 'updated_at']).orderBy('name').orderBy('key').execute();
      return rows.map((row) => ({ name: row.name, key: row.key, keyId: row.key_id, updatedAt: toIso(row.updated_at) }));
    },

    async entries(name) {
      const rows = await db.selectFrom('secrets').selectAll().where('name', '=', name).orderBy('key').execute();
      return rows.map(toValue);
    },

    async put(values) {
      if (values.length === 0) return;
      const at = ctx.now().toISOString();
      await atomically(db, ctx, async (trx) => {
        for (const value of values) {
          await trx
            .insertInto('secrets')
            .values({
              name: value.name,
              key: value.key,
              key_id: value.keyId,
              algorithm: value.algorithm,
              iv: value.iv,
              ciphertext: value.ciphertext,
              tag: value.tag,
              created_at: at,
              updated_at: at,
            })
            .onConflict((oc) =>
              oc.columns(['name', 'key']).doUpdateSet((eb) => ({
                key_id: eb.ref('excluded.key_id'),
                algorithm: eb.ref('excluded.algorithm'),
                iv: eb.ref('excluded.iv'),
                ciphertext: eb.ref('excluded.ciphertext'),
                tag: eb.ref('excluded.tag'),
                updated_at: eb.ref('excluded.updated_at'),
              })),
            )
            .execute();
        }
      });
    },

    async delete(name, keys) {
      if (keys !== undefined && keys.length === 0) return [];
      let remove = db.deleteFrom('secrets').where('name', '=', name);
      if (keys !== undefined) remove = remove.where('key', 'in', keys);
      const rows = await remove.returning('key').execute();
      return rows.map((row) => row.key).sort();
    },
  };
}
