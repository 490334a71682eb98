// A flow-control waiter's place in its key's wait list, taken from the clock instead of a counter: a
// counter is a DynamoDB UpdateItem per waiter ($0.625 per million waiters on demand) for an order no one
// is promised — QStash's flow control limits how many attempts run, not which waiter goes next. A waker
// takes waiters from near the head of the list, in an order of its own (flow-control.ts, WAKE_SPREAD).
import { randomInt } from "node:crypto";

/** Positions count from here: 15 digits (the entries' sort key, dynamo-queue-entries.ts) last until 2056. */
const EPOCH_MS = Date.UTC(2025, 0, 1);
/** Positions per millisecond: two processes parking in the same millisecond rarely meet. */
const PER_MS = 1000;

let last = 0;

/**
 * A position after every one this process gave: the clock's millisecond, then a random part. Entries
 * numbered by the former counter (small numbers) stay ahead. A position another process took in the same
 * millisecond makes the put fail, and the waiter asks again (waitForFlowSlot).
 */
export function nextWaitListPosition(now: number): number {
  const position = Math.max(0, now - EPOCH_MS) * PER_MS + randomInt(PER_MS);
  last = Math.max(position, last + 1);
  return last;
}
