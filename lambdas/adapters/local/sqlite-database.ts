import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS messages (
  id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  state TEXT NOT NULL, retried INTEGER NOT NULL, meta TEXT NOT NULL, body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS messages_state ON messages(state, created_at, id);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, message_id TEXT NOT NULL,
  state TEXT NOT NULL, detail TEXT, response_body BLOB);
CREATE INDEX IF NOT EXISTS events_time ON events(time, seq);
CREATE INDEX IF NOT EXISTS events_message ON events(message_id, time, seq);
CREATE TABLE IF NOT EXISTS dlq (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, dlq_id TEXT NOT NULL UNIQUE, failed_at INTEGER NOT NULL,
  entry TEXT NOT NULL, body BLOB NOT NULL, response_body BLOB);
CREATE INDEX IF NOT EXISTS dlq_time ON dlq(failed_at, seq);
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT NOT NULL, retried INTEGER NOT NULL, due_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs(due_at, seq);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
  kind TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL, value TEXT NOT NULL, PRIMARY KEY (kind, name));
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS queue_entries (
  queue TEXT NOT NULL, seq INTEGER NOT NULL, message_id TEXT NOT NULL, parked INTEGER NOT NULL,
  claimed_at INTEGER, PRIMARY KEY (queue, seq));
CREATE TABLE IF NOT EXISTS dedup (id TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at INTEGER NOT NULL);
`;

/** Opens (creating if needed) the local data file: one SQLite database in WAL mode. */
export function openDatabase(dataDir: string): DatabaseSync {
  mkdirSync(dataDir, { recursive: true });
  const db = new DatabaseSync(join(dataDir, "herald.sqlite"));
  // WAL + synchronous=NORMAL: a commit survives a process crash (what local mode promises); only an OS
  // crash or power loss can lose the last transactions.
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;");
  db.exec(SCHEMA);
  migrate(db);
  return db;
}

/** Columns added after a table was first created: added to data directories made before. */
function migrate(db: DatabaseSync): void {
  const columns = db
    .prepare("PRAGMA table_info(queue_entries)")
    .all()
    .map((c) => c.name);
  if (!columns.includes("claimed_at")) db.exec("ALTER TABLE queue_entries ADD COLUMN claimed_at INTEGER");
}

/**
 * One process per data directory: two would both work the job table and deliver everything twice.
 * The lock file names the owning process; a lock left by a process that died is taken over.
 */
export function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, "herald.lock");
  for (;;) {
    try {
      writeFileSync(file, String(process.pid), { flag: "wx" });
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = Number(readFileSync(file, "utf8"));
      if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
        throw new Error(
          `${dataDir} is in use by Herald process ${owner}; use another HERALD_DATA_DIR ` +
            `(if no Herald runs there, delete ${file})`,
        );
      }
      rmSync(file, { force: true }); // stale: its process is gone
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Runs `work` in a transaction (node:sqlite is synchronous, so nothing interleaves). */
export function transaction<T>(db: DatabaseSync, work: () => T): T {
  db.exec("BEGIN");
  try {
    const result = work();
    db.exec("COMMIT");
    return result;
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}

/** Prepared statements reused by SQL text (preparing is a measurable part of a small write). */
export class Statements {
  private readonly db: DatabaseSync;
  private readonly cache = new Map<string, StatementSync>();
  constructor(db: DatabaseSync) {
    this.db = db;
  }

  get(sql: string): StatementSync {
    let statement = this.cache.get(sql);
    if (!statement) {
      if (this.cache.size >= 256) this.cache.clear(); // dynamic IN (...) lists must not grow it forever
      statement = this.db.prepare(sql);
      this.cache.set(sql, statement);
    }
    return statement;
  }
}
