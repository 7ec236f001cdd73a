/**
 * The raw SQLite yardstick: compare-and-swap updates of one object's status, each its own
 * single-statement transaction (autocommit), through better-sqlite3 with a prepared statement
 * and the same pragmas as the store (WAL, synchronous=NORMAL). This is the most a status writer
 * on this database file could do; the engine's writes/s are reported as a fraction of it.
 */
import BetterSqlite3 from 'better-sqlite3';

export interface CasResult {
  updates: number;
  seconds: number;
  perSecond: number;
  payloadBytes: number;
}

/** Runs CAS updates round-robin over the `kind` rows of `file` for `seconds` (and at most `maxUpdates`). */
export function casRate(file: string, options: { seconds: number; payload: string; kind?: string; maxUpdates?: number }): CasResult {
  const kind = options.kind ?? 'Deployment';
  const maxUpdates = options.maxUpdates ?? 10_000_000;
  const db = new BetterSqlite3(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    const rows = db.prepare('SELECT name, version FROM objects WHERE kind = ? ORDER BY name').all(kind) as Array<{ name: string; version: number }>;
    if (rows.length === 0) throw new Error(`no ${kind} rows in ${file}`);
    const update = db.prepare('UPDATE objects SET status = ?, version = version + 1 WHERE kind = ? AND name = ? AND version = ?');
    const start = performance.now();
    const deadline = start + options.seconds * 1000;
    let updates = 0;
    let now = start;
    while (now < deadline && updates < maxUpdates) {
      for (let i = 0; i < 256 && updates < maxUpdates; i += 1) {
        const row = rows[updates % rows.length]!;
        const result = update.run(options.payload, kind, row.name, row.version);
        if (result.changes !== 1) throw new Error(`CAS on ${row.name} at version ${row.version} did not apply`);
        row.version += 1;
        updates += 1;
      }
      now = performance.now();
    }
    const seconds = (now - start) / 1000;
    return { updates, seconds, perSecond: updates / seconds, payloadBytes: Buffer.byteLength(options.payload) };
  } finally {
    db.close();
  }
}
