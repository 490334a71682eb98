import type { DatabaseSync } from "node:sqlite";
import { Worker } from "node:worker_threads";
import { databaseFile } from "./sqlite-schema.ts";
import { writeGroup } from "./write-group.ts";

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
