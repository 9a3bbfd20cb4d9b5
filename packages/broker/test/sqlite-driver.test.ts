import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite, sqliteDriver } from '../src/sqlite.js';

test('the SQLite driver matches the runtime: better-sqlite3 13 (Node-API 10) where available, 12 on Node 20', () => {
  const napi = Number(process.versions.napi ?? 0);
  assert.equal(sqliteDriver, napi >= 10 ? 'napi' : 'legacy');
});

test('statements prepared, used and dropped many times survive garbage collection and close', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trib-sqlite-'));
  try {
    const db = openSqlite(join(dir, 'gc.sqlite'));
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)');
    // Prepared statements that become garbage are what aborted better-sqlite3 12 on Node 24.
    for (let i = 0; i < 2000; i++) db.prepare('INSERT INTO t (k, v) VALUES (?, ?)').run(i, `v${i}`);
    globalThis.gc?.();
    assert.deepEqual(db.prepare('SELECT COUNT(*) AS n FROM t').get(), { n: 2000 });
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
