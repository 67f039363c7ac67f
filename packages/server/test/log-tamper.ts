/**
 * Edits a SQLite data directory's published log behind the server's back, as an attacker with
 * the database file (or a buggy backup restore) would: for the auditor's tests, which must
 * name the first root that no longer verifies.
 */
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { SQLITE_FILE } from '../src/storage/sqlite.js';

function withDb<T>(dataDir: string, f: (db: BetterSqlite3.Database) => T): T {
  const db = new BetterSqlite3(join(dataDir, SQLITE_FILE));
  db.pragma('busy_timeout = 5000');
  try {
    return f(db);
  } finally {
    db.close();
  }
}

/** Moves root `seqno`'s signed payload `ctime` one second on (its signature no longer holds). */
export function tamperLogRootPayload(dataDir: string, seqno: number): void {
  withDb(dataDir, (db) => {
    const row = db.prepare('select payload_json from log_roots where seqno = ?').get(seqno) as
      { payload_json: string } | undefined;
    if (row === undefined) throw new Error(`no log root ${seqno}`);
    const { ctime } = JSON.parse(row.payload_json) as { ctime: number };
    const edited = row.payload_json.replace(`"ctime":${ctime}`, `"ctime":${ctime + 1}`);
    if (edited === row.payload_json) throw new Error('payload has no ctime to edit');
    db.prepare('update log_roots set payload_json = ? where seqno = ?').run(edited, seqno);
  });
}

/** Replaces the link ID of the chain tail root `seqno` published (the root stays signed). */
export function tamperLogChange(dataDir: string, seqno: number): void {
  withDb(dataDir, (db) => {
    const row = db
      .prepare('select id, tail from log_changes where seqno = ? limit 1')
      .get(seqno) as { id: string; tail: string } | undefined;
    if (row === undefined) throw new Error(`no log change at ${seqno}`);
    const [tailSeqno, , eldest] = JSON.parse(row.tail) as [number, string, string | null];
    db.prepare('update log_changes set tail = ? where seqno = ? and id = ?').run(
      JSON.stringify([tailSeqno, 'f'.repeat(64), eldest]),
      seqno,
      row.id,
    );
  });
}
