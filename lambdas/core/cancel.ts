import type { HeraldContext } from "./context.ts";
import { notFound } from "./errors.ts";
import { matchesFilter, type ListQuery } from "./filters.ts";
import { PENDING_STATES, type StoredMessage } from "./message.ts";

/**
 * Cancels a message that still waits for an attempt: CANCEL_REQUESTED now, CANCELED when its next
 * attempt comes due (qstash-api.md §3.4, §8). An attempt already in flight cannot be called back; if it
 * fails, the message ends CANCELED instead of retrying.
 */
export async function cancelMessage(ctx: HeraldContext, messageId: string): Promise<{ cancelled: number }> {
  const stored = await ctx.store.getMessage(messageId);
  if (!stored || !(await requestCancel(ctx, { messageId, status: stored.status }))) {
    throw notFound(`message "${messageId}" not found or no longer pending`);
  }
  return { cancelled: 1 };
}

/**
 * Bulk cancel: by ids, or the pending messages matching the filter, oldest first — at most `count` of
 * them when it is given (QStash: 1 to 500; the SDK sends 100 unless told), so repeated calls cancel the
 * rest. Answers how many were cancelled.
 */
export async function cancelMessages(ctx: HeraldContext, query: ListQuery): Promise<{ cancelled: number }> {
  // Ids first, cancels after: the scan is not disturbed by its own writes, and no bodies are held.
  const targets: { messageId: string; status: StoredMessage["status"] }[] = [];
  if (query.ids) {
    for (const id of query.ids) {
      const stored = await ctx.store.getMessage(id);
      if (stored) targets.push({ messageId: id, status: stored.status });
    }
  } else {
    for await (const { message, status } of ctx.store.scanMessages(PENDING_STATES)) {
      if (query.fromDate !== undefined && message.createdAt < query.fromDate) continue;
      if (query.toDate !== undefined && message.createdAt > query.toDate) continue;
      if (matchesFilter(message, query.filter)) targets.push({ messageId: message.messageId, status });
    }
  }
  let cancelled = 0;
  for (const target of targets) {
    if (query.count !== undefined && cancelled >= query.count) break;
    if (await requestCancel(ctx, target)) cancelled++;
  }
  return { cancelled };
}

async function requestCancel(
  ctx: HeraldContext,
  { messageId, status }: { messageId: string; status: StoredMessage["status"] },
): Promise<boolean> {
  if (!PENDING_STATES.includes(status.state)) return false;
  return ctx.store.updateStatus(messageId, status, { ...status, state: "CANCEL_REQUESTED" }, [
    { time: ctx.clock.now(), messageId, state: "CANCEL_REQUESTED" },
  ]);
}
