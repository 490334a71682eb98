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
  if (!stored || !(await requestCancel(ctx, stored))) {
    throw notFound(`message "${messageId}" not found or no longer pending`);
  }
  return { cancelled: 1 };
}

/** Bulk cancel: by ids, or every pending message matching the filter (the SDK's `count` is ignored). */
export async function cancelMessages(ctx: HeraldContext, query: ListQuery): Promise<{ cancelled: number }> {
  const targets: StoredMessage[] = [];
  if (query.ids) {
    for (const id of query.ids) {
      const stored = await ctx.store.getMessage(id);
      if (stored) targets.push(stored);
    }
  } else {
    for await (const stored of ctx.store.scanMessages(PENDING_STATES)) {
      const { createdAt } = stored.message;
      if (query.fromDate !== undefined && createdAt < query.fromDate) continue;
      if (query.toDate !== undefined && createdAt > query.toDate) continue;
      if (matchesFilter(stored.message, query.filter)) targets.push(stored);
    }
  }
  let cancelled = 0;
  for (const stored of targets) if (await requestCancel(ctx, stored)) cancelled++;
  return { cancelled };
}

async function requestCancel(ctx: HeraldContext, { message, status }: StoredMessage): Promise<boolean> {
  if (!PENDING_STATES.includes(status.state)) return false;
  return ctx.store.updateStatus(message.messageId, status, { ...status, state: "CANCEL_REQUESTED" }, [
    { time: ctx.clock.now(), messageId: message.messageId, state: "CANCEL_REQUESTED" },
  ]);
}
