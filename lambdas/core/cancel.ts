import { assertMarkable, markUnlistedCanceled } from "./cancel-marks.ts";
import type { HeraldContext } from "./context.ts";
import { notFound } from "./errors.ts";
import { findPending } from "./find-message.ts";
import { matchesFilter, type ListQuery } from "./filters.ts";
import { PENDING_STATES, type Message, type StoredMessage } from "./message.ts";
import { releaseCancelledTurns } from "./queues.ts";

/**
 * Cancels a message that still waits for an attempt: CANCEL_REQUESTED now, CANCELED when its next
 * attempt comes due (docs/architecture.md §13). An attempt already in flight cannot be called back; if it
 * fails, the message ends CANCELED instead of retrying.
 */
export async function cancelMessage(ctx: HeraldContext, messageId: string): Promise<{ cancelled: number }> {
  const released: StoredMessage[] = [];
  if (!(await cancelIfPending(ctx, messageId, released))) {
    throw notFound(`message "${messageId}" not found or no longer pending`);
  }
  await releaseCancelledTurns(ctx, released);
  return { cancelled: 1 };
}

/**
 * Cancels the message if it is pending. The cancel is a compare-and-set on the status read: when an
 * attempt's outcome lands between the read and the write (a failure turning it to RETRY), the message is
 * read again, and cancelled if it is still pending — not answered 404 while it waits for its retry.
 * Each lost race means another writer moved the message on, so a few rounds settle it.
 */
async function cancelIfPending(ctx: HeraldContext, messageId: string, released: StoredMessage[]): Promise<boolean> {
  let stored: StoredMessage | undefined;
  for (let round = 0; round < CANCEL_ROUNDS; round++) {
    stored ??= await findPending(ctx, messageId);
    if (!stored) return false;
    if (await requestCancel(ctx, stored, released)) return true;
    stored = undefined;
  }
  return false;
}
const CANCEL_ROUNDS = 4;

/**
 * Bulk cancel: by ids, or the pending messages matching the filter, oldest first — at most `count` of
 * them when it is given (QStash: 1 to 500; the SDK sends 100 unless told), so repeated calls cancel the
 * rest. Answers how many were cancelled.
 */
export async function cancelMessages(ctx: HeraldContext, query: ListQuery): Promise<{ cancelled: number }> {
  // The cancelled messages that may hold a queue's turn get their jobs in groups, and those of a walk
  // that failed part-way too (its cancels stand).
  const released: StoredMessage[] = [];
  try {
    return await cancelMatching(ctx, query, released);
  } finally {
    await releaseCancelledTurns(ctx, released.splice(0));
  }
}

async function cancelMatching(
  ctx: HeraldContext,
  query: ListQuery,
  released: StoredMessage[],
): Promise<{ cancelled: number }> {
  const releaseFull = async (): Promise<void> => {
    if (released.length >= RELEASE_GROUP) await releaseCancelledTurns(ctx, released.splice(0));
  };
  let cancelled = 0;
  const full = (): boolean => query.count !== undefined && cancelled >= query.count;
  if (query.ids) {
    for (const id of query.ids) {
      if (full()) break;
      if (await cancelIfPending(ctx, id, released)) cancelled++;
      await releaseFull();
    }
    return { cancelled };
  }
  assertMarkable(ctx, query);
  // Cancelled as they are found, until `count`: a call reads only as far as it cancels. Both stores
  // page through the pending messages by key, so the scan is not disturbed by its own writes (a
  // cancelled message leaves the pending states behind it).
  for await (const { message, status } of ctx.store.scanMessages(PENDING_STATES)) {
    if (full()) break;
    if (!inQuery(message, query)) continue;
    // A compare-and-set on the status the scan read. A hit that moved on meanwhile is read again: an
    // attempt that failed while the scan ran leaves it pending (RETRY), and `cancel({all: true})` must
    // not leave it to retry. Only hits that moved in that moment pay the read.
    if (
      (await requestCancel(ctx, { message, status }, released)) ||
      (await cancelIfPending(ctx, message.messageId, released))
    ) {
      cancelled++;
    }
    await releaseFull();
  }
  if (full()) return { cancelled };
  // The walk came to the end of the list. Messages no list holds (an immediate one before its first
  // attempt, on AWS) are looked up by id when the filter names them, and otherwise cancelled by a mark
  // as their jobs come (not counted: they are not read).
  for (const id of query.filter.messageId ?? []) {
    if (full() || !ctx.store.lightRecords) break;
    const stored = await findPending(ctx, id);
    if (stored && inQuery(stored.message, query) && (await cancelIfPending(ctx, id, released))) cancelled++;
  }
  await markUnlistedCanceled(ctx, query);
  return { cancelled };
}
const RELEASE_GROUP = 100;

const inQuery = (message: Message, query: ListQuery): boolean =>
  (query.fromDate === undefined || message.createdAt >= query.fromDate) &&
  (query.toDate === undefined || message.createdAt <= query.toDate) &&
  matchesFilter(message, query.filter);

/** The cancel's compare-and-set; a message it cancels joins `released` (releaseCancelledTurns). */
async function requestCancel(ctx: HeraldContext, stored: StoredMessage, released: StoredMessage[]): Promise<boolean> {
  const { message, status } = stored;
  const { messageId } = message;
  if (!PENDING_STATES.includes(status.state)) return false;
  const { implicit: _implicit, ...written } = status;
  const requested = await ctx.store.updateStatus(messageId, status, { ...written, state: "CANCEL_REQUESTED" }, [
    { time: ctx.clock.now(), messageId, state: "CANCEL_REQUESTED" },
  ]);
  if (requested) released.push(stored);
  return requested;
}
