// The periodic sweep (issue 6): heals what a crash left waiting for an event that will never come. A
// queue's lost turn (the process died between giving an entry its turn and dispatching its job) is given
// again only by a pump of that queue, and flow-control waiters are woken only by a release or resume on
// their key. The platforms run this every few minutes (AWS: an EventBridge Scheduler schedule into the
// delivery queue; local: a timer), so every such wait ends within its threshold plus one period.
import type { HeraldContext } from "./context.ts";
import { wakeStrandedWaiters, type FlowControlState } from "./flow-control.ts";
import { pumpAll, sweepDeletedQueue, type DeletedQueue, type QueueConfig } from "./queues.ts";

/** How often the platforms run the sweep. */
export const SWEEP_INTERVAL_MS = 5 * 60_000;

/** Queues and keys looked at concurrently (a deployment may have thousands; a sweep runs in one Lambda). */
const CONCURRENCY = 8;

export interface SweepReport {
  queues: number;
  deletedQueues: number;
  flowControlKeys: number;
}

/**
 * Pumps every queue (which gives lost turns again, queues.ts) — the configured ones and the deleted ones
 * that may still have entries — and wakes the waiters of every flow-control key with a free slot. Safe to
 * run concurrently with itself and with everything else: each step is a compare-and-set.
 * Cost: three record listings, plus one read of each queue's head (and each of its lanes', where the
 * platform orders queues) and of each key with a free slot.
 * Throws after trying everything if any part failed (the platform retries the sweep).
 */
export async function sweep(ctx: HeraldContext): Promise<SweepReport> {
  const [queues, deleted, keys] = await Promise.all([
    ctx.store.listRecords<QueueConfig>("queue"),
    ctx.store.listRecords<DeletedQueue>("deletedQueue"),
    ctx.store.listRecords<FlowControlState>("flowControl"),
  ]);
  const listed = new Set(queues.map((q) => q.name));
  const tasks: (() => Promise<void>)[] = [
    ...queues.map((queue) => () => pumpAll(ctx, queue.name, queue)),
    ...deleted.map((marker) => () => sweepDeletedQueue(ctx, marker, listed.has(marker.name))),
    ...keys.map((state) => () => wakeStrandedWaiters(ctx, state)),
  ];
  const errors: unknown[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const task = tasks[next++] as () => Promise<void>;
      await task().catch((error: unknown) => void errors.push(error));
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, tasks.length) }, worker));
  if (errors.length > 0) throw new AggregateError(errors, `sweep: ${errors.length} of ${tasks.length} parts failed`);
  return { queues: queues.length, deletedQueues: deleted.length, flowControlKeys: keys.length };
}
