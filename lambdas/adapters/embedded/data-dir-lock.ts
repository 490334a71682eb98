import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";

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
