// The checkpointer's worker thread, started by checkpointer.ts (which explains the policy): its own
// connection to the database file, a PASSIVE checkpoint every `intervalMs`, and past `restartPages` of WAL
// a pause while the main thread runs a RESTART checkpoint. Loaded by Node itself (types stripped), never
// bundled: it may import only Node built-ins and types.
import { DatabaseSync } from "node:sqlite";
import { parentPort, workerData } from "node:worker_threads";

export interface CheckpointerData {
  /** The database file (the main connection's, opened a second time). */
  file: string;
  intervalMs: number;
  /** WAL pages past which the worker asks the main thread for a RESTART checkpoint. */
  restartPages: number;
}

/** Worker to main thread: "restart" (checkpoint, then answer "restarted"), or the error that stopped it. */
export type FromCheckpointer = string;
/** Main thread to worker: "restarted" resumes it; anything else stops it. */
export type ToCheckpointer = "restarted" | "stop";

/** A row of `PRAGMA wal_checkpoint`: pages in the WAL, and how many of them are in the database file. */
interface CheckpointResult {
  busy: number;
  log: number;
  checkpointed: number;
}

const port = parentPort;
if (!port) throw new Error("checkpointer-worker.ts runs in a worker thread (see checkpointer.ts)");
const data = workerData as CheckpointerData;
const send = (message: FromCheckpointer): void => port.postMessage(message);

const db = new DatabaseSync(data.file);
db.exec("PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;");
const passive = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
const checkpoint = (): CheckpointResult => passive.get() as unknown as CheckpointResult;
let paused = false;
const timer = setInterval(() => {
  if (paused) return;
  try {
    let result = checkpoint();
    if (result.log < data.restartPages) return;
    // Catch up first, so the main thread is left only the last few frames (and little to fsync).
    for (let i = 0; i < 5 && result.log - result.checkpointed > 64; i++) result = checkpoint();
    paused = true;
    send("restart");
  } catch (error) {
    clearInterval(timer);
    send(String(error));
  }
}, data.intervalMs);
port.on("message", (message: ToCheckpointer) => {
  if (message === "restarted") {
    paused = false;
    return;
  }
  clearInterval(timer);
  db.close();
  port.close();
});
