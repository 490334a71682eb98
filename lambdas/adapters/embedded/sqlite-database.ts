import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { Worker } from "node:worker_threads";

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
  kind TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL, value TEXT NOT NULL, PRIMARY KEY (kind, name));
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS queue_entries (
  queue TEXT NOT NULL, seq INTEGER NOT NULL, message_id TEXT NOT NULL, parked INTEGER NOT NULL,
  claimed_at INTEGER, PRIMARY KEY (queue, seq));
CREATE TABLE IF NOT EXISTS dedup (id TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at INTEGER NOT NULL);
`;

const databaseFile = (dataDir: string): string => join(dataDir, "herald.sqlite");

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

// The checkpointer: its own connection in a worker thread. PASSIVE copies committed WAL frames into the
// database file (and fsyncs both) without blocking the writer. The WAL only starts over when a writer
// begins while every frame is copied, which a busy server never leaves time for; so past RESTART_PAGES the
// worker pauses and asks the main thread for a RESTART checkpoint (see startCheckpointer).
const CHECKPOINTER = `
const { parentPort, workerData } = require("node:worker_threads");
const { DatabaseSync } = require("node:sqlite");
const db = new DatabaseSync(workerData.file);
db.exec("PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;");
const passive = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
let paused = false;
const timer = setInterval(() => {
  if (paused) return;
  try {
    let result = passive.get();
    if (result.log < workerData.restartPages) return;
    // Catch up first, so the main thread is left only the last few frames (and little to fsync).
    for (let i = 0; i < 5 && result.log - result.checkpointed > 64; i++) result = passive.get();
    paused = true;
    parentPort.postMessage("restart");
  } catch (error) {
    clearInterval(timer);
    parentPort.postMessage(String(error));
  }
}, workerData.intervalMs);
parentPort.on("message", (message) => {
  if (message === "restarted") {
    paused = false;
    return;
  }
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;
const CHECKPOINT_INTERVAL_MS = 100;
const RESTART_PAGES = 4096; // 16 MiB of WAL

export interface Checkpointer {
  stop(): Promise<void>;
}

/**
 * Moves WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside a commit, on the
 * thread that commits, and fsyncs the WAL and the database file: that was most of a small write's time,
 * and every request waited meanwhile. A worker thread now copies the frames as they come. When the WAL
 * has grown past RESTART_PAGES, the main thread commits its open group and runs a RESTART checkpoint
 * itself: only the frames since the worker's last pass are left to copy, and the next write starts the WAL
 * over, so it stays bounded.
 *
 * Durability is unchanged: a commit is in the WAL either way (which is what survives a crash of the
 * process); this only moves where the copy into the database file happens. If the worker fails, the
 * connection's own automatic checkpoints take over again.
 */
export function startCheckpointer(db: DatabaseSync, dataDir: string): Checkpointer {
  db.exec("PRAGMA wal_autocheckpoint = 0");
  const group = writeGroup(db);
  const worker = new Worker(CHECKPOINTER, {
    eval: true,
    workerData: { file: databaseFile(dataDir), intervalMs: CHECKPOINT_INTERVAL_MS, restartPages: RESTART_PAGES },
  });
  worker.unref();
  let stopping = false;
  const fallBack = (reason: unknown): void => {
    if (stopping) return;
    stopping = true;
    console.error("the WAL checkpointer failed; checkpointing on commit instead", reason);
    if (db.isOpen) db.exec("PRAGMA wal_autocheckpoint = 1000");
  };
  worker.on("message", (message) => {
    if (message !== "restart") return fallBack(message);
    if (stopping || !db.isOpen) return;
    try {
      group.commit();
      db.prepare("PRAGMA wal_checkpoint(RESTART)").get();
      worker.postMessage("restarted");
    } catch (error) {
      fallBack(error);
    }
  });
  worker.on("error", fallBack);
  worker.on("exit", (code) => fallBack(`exit ${code}`));
  return {
    async stop() {
      if (stopping) return;
      stopping = true;
      worker.ref();
      const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
      worker.postMessage("stop");
      await exited;
    },
  };
}

/** Data directories made by earlier versions: columns added since, indexes dropped since. */
function migrate(db: DatabaseSync): void {
  const columns = db
    .prepare("PRAGMA table_info(queue_entries)")
    .all()
    .map((c) => c.name);
  if (!columns.includes("claimed_at")) db.exec("ALTER TABLE queue_entries ADD COLUMN claimed_at INTEGER");
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

/**
 * One process per data directory: two would both work the job table and deliver everything twice.
 * The lock is SQLite's own exclusive lock on `herald.lock` (a POSIX advisory lock, held by the open
 * transaction): the kernel drops it the moment its process dies, before the process is reaped, so a
 * restart right after a `kill -9` works even while the dead process is still a zombie (a PID file checked
 * with kill(pid, 0) would call a zombie alive). `herald.pid` only names the owner in the error message.
 */
export function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, "herald.lock");
  const pidFile = join(dataDir, "herald.pid");
  let lock: DatabaseSync | undefined;
  try {
    lock = openLock(file);
    lock.exec("BEGIN EXCLUSIVE"); // never committed: held until close() or the process's death
  } catch (error) {
    lock?.close();
    if ((error as { errcode?: number }).errcode !== SQLITE_BUSY) throw error;
    let owner = "";
    try {
      owner = ` ${readFileSync(pidFile, "utf8").trim()}`;
    } catch {
      // no pid file: the owner is starting or stopping
    }
    throw new Error(`${dataDir} is in use by Herald process${owner}; use another HERALD_DATA_DIR`);
  }
  writeFileSync(pidFile, String(process.pid));
  const held = lock;
  return () => {
    rmSync(pidFile, { force: true });
    held.close();
  };
}

const SQLITE_BUSY = 5;

/** Opens the lock database; a lock file of an earlier version (a PID in plain text) is replaced. */
function openLock(file: string): DatabaseSync {
  const lock = new DatabaseSync(file, { timeout: 0 });
  try {
    lock.prepare("PRAGMA schema_version").get(); // reads the header: fails on a file that is not SQLite
    return lock;
  } catch (error) {
    lock.close();
    if ((error as { errcode?: number }).errcode !== SQLITE_NOTADB) throw error;
    rmSync(file, { force: true });
    return new DatabaseSync(file, { timeout: 0 });
  }
}

const SQLITE_NOTADB = 26;

/**
 * Group commit. Writes run at once, as before, but inside one transaction that stays open for the rest of
 * the current turn of the event loop and is committed in a `setImmediate` — the writes of every request and
 * delivery handled in that turn cost one commit instead of one each (a commit is most of a small write's
 * cost).
 *
 * Durability is kept at the edge of the process: nothing leaves it before the writes made before it are
 * committed. The local server awaits `durable()` before it sends any response, and before any delivery
 * attempt goes out; the job queue commits before it starts jobs. To anyone outside, this is the same as one
 * commit per write: a 2xx is only ever sent for a committed message. A crash loses only writes nobody was
 * told about, and always a suffix of them (one connection commits in program order), so "side effects
 * first, status last" still holds after a crash.
 *
 * A statement that fails has no effect, and `atomic` undoes the rest of its work (a SAVEPOINT): the
 * group goes on. A commit that fails (an I/O error, a full disk), or a statement error after which SQLite
 * rolled the whole transaction back itself (the same errors), loses the whole group, as a crash would:
 * its waiters are rejected, `rollbacks` counts up, the rollback listeners run (the job queue reads its
 * table again), the server answers 500 to every request that was under way meanwhile (see `serve`), and
 * every write for the rest of that turn fails too, so no operation keeps its second half without its
 * first.
 *
 * node:sqlite is synchronous and there is one connection: reads see every earlier write at once.
 */
export class WriteGroup {
  private readonly db: DatabaseSync;
  private open = false;
  private waiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  private readonly statements: Statements;
  private readonly rollbackListeners: (() => void)[] = [];
  /** Set from a lost group to the end of its turn: the error every write meanwhile fails with. */
  private lostThisTurn: Error | undefined;
  /** How many groups were lost so far: whoever saw it change may have seen writes that are gone. */
  rollbacks = 0;

  constructor(db: DatabaseSync) {
    this.db = db;
    this.statements = new Statements(db);
  }

  /** Runs `work` — one write statement — inside the open group (opening one if none is). */
  write<T>(work: () => T): T {
    if (this.lostThisTurn) throw this.lostThisTurn;
    if (!this.open) {
      this.db.exec("BEGIN");
      this.open = true;
      setImmediate(() => this.commit());
    }
    try {
      return work();
    } catch (error) {
      // A full disk, an I/O error or RAISE(ROLLBACK) ends the whole transaction: the group is lost.
      if (this.db.isOpen && !this.db.isTransaction) this.lose(error);
      throw error;
    }
  }

  /**
   * Runs `work` — several writes — atomically inside the open group: if it throws, none of it stays. (A
   * single statement needs no `atomic`: the SAVEPOINT copies every page it touches, a measurable cost.)
   */
  atomic<T>(work: () => T): T {
    return this.write(() => {
      this.statements.get("SAVEPOINT herald_write").run();
      try {
        const result = work();
        this.statements.get("RELEASE herald_write").run();
        return result;
      } catch (error) {
        if (this.db.isTransaction) {
          this.statements.get("ROLLBACK TO herald_write").run();
          this.statements.get("RELEASE herald_write").run();
        }
        throw error;
      }
    });
  }

  /** Called after a group was lost (state kept in memory may describe writes that are gone). */
  onRollback(listener: () => void): void {
    this.rollbackListeners.push(listener);
  }

  /** Resolves once every write made so far is committed (at once when none is pending). */
  durable(): Promise<void> | undefined {
    if (this.lostThisTurn) return Promise.reject(this.lostThisTurn);
    if (!this.open) return undefined;
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Commits the open group now (a no-op when none is open). */
  commit(): void {
    if (!this.open) return;
    try {
      this.db.exec("COMMIT");
    } catch (error) {
      // A connection closed by its owner mid-group rolled back already (tests close without waiting).
      if (this.db.isOpen) console.error("could not commit to the local database; the last writes are lost", error);
      this.lose(error);
      return;
    }
    this.open = false;
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.resolve();
  }

  /** The open group is lost: rolled back (if SQLite has not done it), and told to whoever waits on it. */
  private lose(error: unknown): void {
    this.open = false;
    const waiters = this.waiters;
    this.waiters = [];
    if (!this.db.isOpen) {
      // Closed by its owner mid-group (shutdown, tests): nothing more is written, nobody needs telling.
      for (const waiter of waiters) waiter.reject(error);
      return;
    }
    try {
      if (this.db.isTransaction) this.db.exec("ROLLBACK");
    } catch (rollbackError) {
      console.error("could not roll back the local database's open writes", rollbackError);
    }
    this.rollbacks++;
    this.lostThisTurn = new Error("the local database lost this turn's writes", { cause: error });
    setImmediate(() => (this.lostThisTurn = undefined));
    for (const waiter of waiters) waiter.reject(error);
    for (const listener of this.rollbackListeners) listener();
  }
}

const groups = new WeakMap<DatabaseSync, WriteGroup>();

/** The write group of a connection (one per connection: the store, job queue and keys share it). */
export function writeGroup(db: DatabaseSync): WriteGroup {
  let group = groups.get(db);
  if (!group) {
    group = new WriteGroup(db);
    groups.set(db, group);
  }
  return group;
}

/** Commits what is pending, then closes the connection. */
export function closeDatabase(db: DatabaseSync): void {
  writeGroup(db).commit();
  db.close();
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
