// The one place the broker loads SQLite (better-sqlite3), so every database gets the driver this runtime can run.
//
// better-sqlite3 <= 12 wraps statements in node::ObjectWrap; on Node 24 a statement collected by the GC (or at
// exit) trips Node's RemoveEnvironmentCleanupHook assertion and aborts the process. better-sqlite3 13 moved to
// Node-API 10, which fixes that but is missing from Node 20 (Node-API 9), where 13 crashes on load. Both majors are
// installed (13 under the alias better-sqlite3-napi) and have the same API; the runtime's Node-API level picks one.
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

export type SqliteDatabase = BetterSqlite3.Database;
export type SqliteStatement = BetterSqlite3.Statement;

const NODE_API_LEVEL_OF_DRIVER_13 = 10;

const require = createRequire(import.meta.url);

/** Which installed better-sqlite3 major this process uses ('napi' = 13+, 'legacy' = 12). */
export const sqliteDriver: 'napi' | 'legacy' =
  Number(process.versions.napi ?? 0) >= NODE_API_LEVEL_OF_DRIVER_13 ? 'napi' : 'legacy';

const Driver = require(sqliteDriver === 'napi' ? 'better-sqlite3-napi' : 'better-sqlite3') as typeof BetterSqlite3;

export function openSqlite(path: string, options?: BetterSqlite3.Options): SqliteDatabase {
  return new Driver(path, options);
}
