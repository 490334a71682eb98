import type { DatabaseSync } from "node:sqlite";
import { Worker } from "node:worker_threads";
import { databaseFile } from "./sqlite-schema.ts";
import { writeGroup } from "./write-group.ts";
import type { CheckpointerData, FromCheckpointer, ToCheckpointer } from "./checkpointer-worker.ts";

// The checkpointer: its own connection in a worker thread (checkpointer-worker.ts). PASSIVE copies
// committed WAL frames into the database file (and fsyncs both) without blocking the writer. The WAL only
// starts over when a writer begins while every frame is copied, which a busy server never leaves time for;
// so past RESTART_PAGES the worker pauses and asks the main thread for a RESTART checkpoint (see
// startCheckpointer).
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
  const workerData: CheckpointerData = {
    file: databaseFile(dataDir),
    intervalMs: CHECKPOINT_INTERVAL_MS,
    restartPages: RESTART_PAGES,
  };
  // A file next to this one, loaded by Node (types stripped): this adapter is never bundled.
  const worker = new Worker(new URL("./checkpointer-worker.ts", import.meta.url), { workerData });
  const send = (message: ToCheckpointer): void => worker.postMessage(message);
  worker.unref();
  let stopping = false;
  const fallBack = (reason: unknown): void => {
    if (stopping) return;
    stopping = true;
    console.error("the WAL checkpointer failed; checkpointing on commit instead", reason);
    if (db.isOpen) db.exec("PRAGMA wal_autocheckpoint = 1000");
  };
  worker.on("message", (message: FromCheckpointer) => {
    if (message !== "restart") return fallBack(message);
    if (stopping || !db.isOpen) return;
    try {
      group.commit();
      db.prepare("PRAGMA wal_checkpoint(RESTART)").get();
      send("restarted");
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
      send("stop");
      await exited;
    },
  };
}
