// How the event source mapping's stand-in batches deliveries in the cost bench: one message per batch (a
// trickle), or full batches (steady load). Both are middlewares on the stand-in's SQS client, so Herald's
// handlers and the emulated mapping run unchanged.
import type { QueueDepth } from "./harness.ts";
import type { Middleware } from "./sdk-counting.ts";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Caps the messages a ReceiveMessage asks for at `cap()` (when set): on the event source mapping's client, a
 * cap of one makes every delivery batch hold one message, as at a trickle, whatever the backlog.
 */
export function receiveCap(cap: () => number | undefined): Middleware {
  return (next, context) => async (args) => {
    const limit = cap();
    if (limit !== undefined && context.commandName === "ReceiveMessageCommand") {
      args.input.MaxNumberOfMessages = Math.min(Number(args.input.MaxNumberOfMessages ?? 1), limit);
    }
    return next(args);
  };
}

/** The longest a receive waits for its batch to fill once a message is visible. */
export const FULL_BATCH_WINDOW_MS = 2_000;
const DEPTH_TTL_MS = 25;

/**
 * Under steady load every receive of the event source mapping finds a full batch: jobs keep arriving.
 * The bench's workloads are a few dozen messages, so jobs a workload makes later — retries, callbacks,
 * delayed jobs coming due, a schedule's messages — would arrive a few at a time and each pay a receive,
 * a delete and an invocation that a steady load shares by ten. While `active()`, a receive on the queue
 * at `queueUrl` first waits (up to a second, as a long poll would) for a visible message, then takes its
 * turn — receives are taken one at a time, so two pollers do not split a batch — and waits until the
 * queue holds a full batch, or nothing more can join it (no job delayed or in flight), or
 * FULL_BATCH_WINDOW_MS has passed; then it receives with `WaitTimeSeconds` 0, so a long poll cannot
 * return a partial batch. Not an emulation of the stack (which sets no batching window): a stand-in for
 * the traffic around a workload.
 */
export function fullBatches(
  active: () => boolean,
  queueUrl: () => string,
  depth: () => Promise<QueueDepth>,
): Middleware {
  // One look at the queue every DEPTH_TTL_MS, shared by every waiting poller: polling it from each of
  // them would load the process whose Lambda time the bench measures.
  let look: { at: number; depth: Promise<QueueDepth> } | undefined;
  const currentDepth = (): Promise<QueueDepth> => {
    const now = performance.now();
    if (!look || now - look.at >= DEPTH_TTL_MS) look = { at: now, depth: depth() };
    return look.depth;
  };
  let turn = Promise.resolve();
  return (next, context) => async (args) => {
    if (!active() || context.commandName !== "ReceiveMessageCommand" || args.input.QueueUrl !== queueUrl()) {
      return next(args);
    }
    const start = performance.now();
    while ((await currentDepth()).visible === 0 && performance.now() - start < 1_000) await sleep(DEPTH_TTL_MS);
    const previous = turn;
    let release = () => {};
    turn = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      const wanted = Number(args.input.MaxNumberOfMessages ?? 1);
      const filling = performance.now();
      for (;;) {
        const q = await currentDepth();
        if (q.visible >= wanted || q.visible === 0 || q.delayed + q.inFlight === 0) break;
        if (performance.now() - filling >= FULL_BATCH_WINDOW_MS) break;
        await sleep(DEPTH_TTL_MS);
      }
      args.input.WaitTimeSeconds = 0;
      return await next(args);
    } finally {
      look = undefined; // what this receive took is not in the last look
      release();
    }
  };
}
