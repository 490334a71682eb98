import { acceptMessage } from "./accept.ts";
import type { HeraldContext } from "./context.ts";
import { notFound } from "./errors.ts";
import { matchesFilter, type ListQuery } from "./filters.ts";
import type { IncomingHeaders } from "./headers.ts";
import { newMessageId } from "./ids.ts";
import type { DlqStore } from "../ports.ts";
import type { DlqEntry, Message } from "./message.ts";
import { parsePublishOptions } from "./publish-options.ts";
import { DEFAULT_PAGE_SIZE, decodeCursor, takePage } from "./paging.ts";
import { dlqView } from "./views.ts";
import { failureCallbackInfo } from "./workflow-logs.ts";

/**
 * Entries selected by ids, or one page of entries matching the filters (oldest first by default). Ids
 * ignore the filters, but not the source an endpoint is for (the workflow DLQ's entries only).
 */
export async function selectEntries(
  ctx: Pick<HeraldContext, "store">,
  query: ListQuery,
): Promise<{ items: DlqEntry[]; cursor?: string }> {
  if (query.ids) {
    const items: DlqEntry[] = [];
    const source = query.filter.source ? { source: query.filter.source } : {};
    for (const id of query.ids) {
      const entry = await ctx.store.getDlq(id);
      if (entry && matchesFilter(entry.message, source)) items.push(entry);
    }
    return { items };
  }
  const scan = ctx.store.scanDlq({
    order: query.order ?? "earliestFirst",
    ...(query.cursor ? { after: decodeCursor(query.cursor) } : {}),
    ...(query.fromDate !== undefined ? { fromTime: query.fromDate } : {}),
    ...(query.toDate !== undefined ? { toTime: query.toDate } : {}),
  });
  const states = query.filter.failureFunctionState;
  const accept = async (entry: DlqEntry): Promise<boolean> =>
    matchesFilter(entry.message, query.filter) &&
    (query.responseStatus === undefined || query.responseStatus.includes(entry.response?.status ?? 0)) &&
    (states === undefined || states.includes((await failureInfoOf(ctx, entry))?.state ?? ""));
  const size = (entry: DlqEntry): number => entry.message.body.byteLength + (entry.response?.body.byteLength ?? 0);
  return takePage(scan, accept, query.count ?? DEFAULT_PAGE_SIZE, size);
}

const withCursor = (cursor: string | undefined): { cursor?: string } => (cursor ? { cursor } : {});

/** A workflow step's entry with a failure function: where that function's call stands (else undefined). */
async function failureInfoOf(ctx: Pick<HeraldContext, "store">, entry: DlqEntry) {
  if (!entry.message.workflow || !entry.message.failureCallback) return undefined;
  return failureCallbackInfo(ctx, entry.message.messageId);
}

/** An entry as the API shows it; a workflow step's with its failure function's `failureCallbackInfo`. */
export async function entryView(ctx: Pick<HeraldContext, "store">, entry: DlqEntry): Promise<Record<string, unknown>> {
  const info = await failureInfoOf(ctx, entry);
  return info ? { ...dlqView(entry), failureCallbackInfo: info } : dlqView(entry);
}

export async function listDlq(ctx: Pick<HeraldContext, "store">, query: ListQuery): Promise<Record<string, unknown>> {
  const page = await selectEntries(ctx, query);
  const messages = await Promise.all(page.items.map((entry) => entryView(ctx, entry)));
  return { messages, ...withCursor(page.cursor) };
}

export async function getDlq(ctx: Pick<HeraldContext, "store">, dlqId: string): Promise<Record<string, unknown>> {
  const entry = await ctx.store.getDlq(dlqId);
  if (!entry) throw notFound(`dlq message "${dlqId}" not found`);
  return entryView(ctx, entry);
}

export async function deleteDlq(ctx: { store: DlqStore }, dlqId: string): Promise<void> {
  if (!(await ctx.store.deleteDlq(dlqId))) throw notFound(`dlq message "${dlqId}" not found`);
}

export async function deleteDlqBulk(
  ctx: Pick<HeraldContext, "store">,
  query: ListQuery,
): Promise<{ deleted: number; cursor?: string }> {
  const page = await selectEntries(ctx, query);
  let deleted = 0;
  for (const entry of page.items) if (await ctx.store.deleteDlq(entry.dlqId)) deleted++;
  return { deleted, ...withCursor(page.cursor) };
}

/**
 * Re-publishes a DLQ entry as a new message with the original body and headers; configuration headers on
 * the retry request (Upstash-Retries, -Delay, …) override the original's. The entry is removed after the
 * new message is accepted (a crash in between can at worst retry it twice).
 */
export async function retryDlq(
  ctx: HeraldContext,
  dlqId: string,
  headers: IncomingHeaders,
): Promise<{ messageId: string }> {
  const entry = await ctx.store.getDlq(dlqId);
  if (!entry) throw notFound(`dlq message "${dlqId}" not found`);
  return retryEntry(ctx, entry, headers);
}

export async function retryDlqBulk(
  ctx: HeraldContext,
  query: ListQuery,
  headers: IncomingHeaders,
): Promise<{ responses: { messageId: string }[]; cursor?: string }> {
  const page = await selectEntries(ctx, query);
  const responses: { messageId: string }[] = [];
  for (const entry of page.items) responses.push(await retryEntry(ctx, entry, headers));
  return { responses, ...withCursor(page.cursor) };
}

async function retryEntry(
  ctx: HeraldContext,
  entry: DlqEntry,
  headers: IncomingHeaders,
): Promise<{ messageId: string }> {
  const now = ctx.clock.now();
  const message: Message = {
    ...entry.message,
    ...configOverrides(headers, now, ctx),
    messageId: newMessageId(now),
    createdAt: now,
  };
  if (message.notBefore < now) message.notBefore = now;
  await acceptMessage(ctx, message);
  await ctx.store.deleteDlq(entry.dlqId);
  return { messageId: message.messageId };
}

/**
 * Settings the request's headers give over an entry's own. `flowControl`: also Upstash-Flow-Control-*
 * (the workflow DLQ's resume and restart take them).
 */
export function configOverrides(
  headers: IncomingHeaders,
  now: number,
  ctx: HeraldContext,
  options: { flowControl?: boolean } = {},
): Partial<Message> {
  const parsed = parsePublishOptions(headers, now, ctx.config);
  const has = (name: string): boolean => headers[name] !== undefined;
  const overrides: Partial<Message> = { notBefore: parsed.notBefore };
  if (options.flowControl && parsed.flowControl) overrides.flowControl = parsed.flowControl;
  if (has("upstash-method")) overrides.method = parsed.method;
  if (has("upstash-retries")) overrides.maxRetries = parsed.maxRetries;
  if (has("upstash-retry-delay") && parsed.retryDelayExpression !== undefined) {
    overrides.retryDelayExpression = parsed.retryDelayExpression;
  }
  if (has("upstash-timeout") && parsed.timeoutSec !== undefined) overrides.timeoutSec = parsed.timeoutSec;
  if (parsed.callback) overrides.callback = parsed.callback;
  if (parsed.failureCallback) overrides.failureCallback = parsed.failureCallback;
  if (has("upstash-label")) overrides.labels = parsed.labels;
  return overrides;
}
