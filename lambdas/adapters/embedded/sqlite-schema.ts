import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { writeGroup } from "./write-group.ts";

// The local data file: its tables, the migrations of data directories made by earlier versions, and opening
// and closing the one connection.

const SCHEMA = `
CREATE TABLE IF NOT EXISTS messages (
  id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  state TEXT NOT NULL, retried INTEGER NOT NULL, meta TEXT NOT NULL, body BLOB NOT NULL,
  log_time INTEGER, log_seq INTEGER);
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
  kind TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL, value TEXT NOT NULL, expires_at INTEGER,
  listed_at INTEGER, PRIMARY KEY (kind, name));
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS queue_entries (
  queue TEXT NOT NULL, seq INTEGER NOT NULL, message_id TEXT NOT NULL, parked INTEGER NOT NULL,
  claimed_at INTEGER, turn_retried INTEGER, PRIMARY KEY (queue, seq));
CREATE TABLE IF NOT EXISTS dedup (id TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS workflow_steps (
  run_id TEXT NOT NULL, seq INTEGER NOT NULL, message_id TEXT NOT NULL, call_type TEXT NOT NULL,
  body BLOB NOT NULL, created_at INTEGER NOT NULL, PRIMARY KEY (run_id, seq));
`;

export const databaseFile = (dataDir: string): string => join(dataDir, "herald.sqlite");

/** Opens (creating if needed) the local data file: one SQLite database in WAL mode. */
export function openDatabase(dataDir: string): DatabaseSync {
  mkdirSync(dataDir, { recursive: true });
  const db = new DatabaseSync(databaseFile(dataDir));
  // WAL + synchronous=NORMAL: a commit survives a process crash (what local mode promises); only an OS
  // crash or power loss can lose the last transactions.
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;");
  db.exec(SCHEMA);
  migrate(db);
  return db;
}

/** Data directories made by earlier versions: columns added since, indexes dropped since. */
function migrate(db: DatabaseSync): void {
  const columns = db
    .prepare("PRAGMA table_info(queue_entries)")
    .all()
    .map((c) => c.name);
  if (!columns.includes("claimed_at")) db.exec("ALTER TABLE queue_entries ADD COLUMN claimed_at INTEGER");
  if (!columns.includes("turn_retried")) db.exec("ALTER TABLE queue_entries ADD COLUMN turn_retried INTEGER");
  const recordColumns = db
    .prepare("PRAGMA table_info(records)")
    .all()
    .map((c) => c.name);
  if (!recordColumns.includes("expires_at")) db.exec("ALTER TABLE records ADD COLUMN expires_at INTEGER");
  if (!recordColumns.includes("listed_at")) {
    db.exec("ALTER TABLE records ADD COLUMN listed_at INTEGER");
    // Runs written before the index are listed by their creation, as new ones are.
    db.exec(
      "UPDATE records SET listed_at = json_extract(value, '$.createdAt') WHERE kind = 'workflowRun' AND listed_at IS NULL",
    );
  }
  db.exec("CREATE INDEX IF NOT EXISTS records_listed ON records (kind, listed_at, name) WHERE listed_at IS NOT NULL");
  const messageColumns = db
    .prepare("PRAGMA table_info(messages)")
    .all()
    .map((c) => c.name);
  for (const column of ["log_time", "log_seq"]) {
    if (!messageColumns.includes(column)) db.exec(`ALTER TABLE messages ADD COLUMN ${column} INTEGER`);
  }
  // A message's CREATED log entry, kept in its own row (see SqliteStore.createMessage), in log order.
  db.exec("CREATE INDEX IF NOT EXISTS messages_log ON messages(log_time, log_seq) WHERE log_seq IS NOT NULL");
  // Every publish paid for this index; only a bulk cancel read it (it now walks the ids, which start with
  // the creation time).
  db.exec("DROP INDEX IF EXISTS messages_state");
  // A DLQ entry keeps its message's meta as an object in its JSON, as on DynamoDB (store-codec.ts's
  // DlqRecord); earlier versions kept it as a JSON string there.
  db.exec(
    "UPDATE dlq SET entry = json_set(entry, '$.meta', json(entry ->> '$.meta')) WHERE json_type(entry, '$.meta') = 'text'",
  );
}

/** Commits what is pending, then closes the connection. */
export function closeDatabase(db: DatabaseSync): void {
  writeGroup(db).commit();
  db.close();
}
