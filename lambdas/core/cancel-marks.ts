// A bulk cancel's reach into the messages no list holds (docs/architecture.md §13, "Messages no list
// holds"): light records before their first attempt (§19) and messages carried in their jobs (lean).
import type { Clock, Dispatcher, MessageStore, RecordStore } from "../ports.ts";
import { matchesFilter, type ListQuery, type MessageFilter } from "./filters.ts";
import { badRequest } from "./errors.ts";
import type { Message, MessageStatus } from "./message.ts";
import { processState } from "./process-state.ts";
import { updateRecord } from "./records.ts";

/** The messages created by `at` (and within `fromDate`–`toDate`) that match `filter` are cancelled. */
export interface CancelMark {
  at: number;
  filter: MessageFilter;
  fromDate?: number;
  toDate?: number;
}

type MarkContext = {
  store: MessageStore & RecordStore;
  clock: Clock;
  dispatcher?: Pick<Dispatcher, "carriesMessages">;
};

/** Every mark is one record: a reader needs them all, and one consistent read of a small item is 1 read unit. */
const KIND = "cancelMarks";
const NAME = "unlisted";
/**
 * How long a mark is kept: an unlisted message's first job waits in the delivery queue at most its
 * retention (4 days, lib/queues.ts; test/cdk asserts the two agree), and is attempted (and listed, when
 * it fails) by then.
 */
export const CANCEL_MARK_LIFE_MS = 4 * 86_400_000;
/**
 * The most marks kept, and their most bytes (as JSON): beyond either the oldest go, so a stream of
 * filtered cancels does not grow what every delivery reads (16 KiB: 4 read units). The messages only a
 * dropped mark covered are then attempted, as they were before marks (docs/qstash-api.md §24).
 */
const MAX_MARKS = 100;
const MAX_MARKS_BYTES = 16 * 1024;
/** The largest filter a mark takes (its JSON): a larger one is refused before anything is cancelled. */
export const MAX_MARK_BYTES = 2 * 1024;
/**
 * How long a process uses the marks it read. A bulk cancel that writes one waits longer than that
 * (CLOCK_MARGIN_MS more: a timer may fire a few milliseconds early, clocks of two containers differ)
 * before it answers, so an attempt that starts after its answer used marks read after the mark was written.
 */
export const CANCEL_MARKS_FRESH_MS = 1_000;
const CLOCK_MARGIN_MS = 250;
/** How much later than its walk a bulk cancel that writes a mark answers. */
export const MARKED_ANSWER_DELAY_MS = CANCEL_MARKS_FRESH_MS + CLOCK_MARGIN_MS;

/** Bytes as DynamoDB bills them (UTF-8), not characters: a label may be any text. */
const markBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), "utf8");

/** Whether a store or dispatcher keeps messages out of every list until their first attempt fails. */
export function keepsUnlisted(ctx: MarkContext): boolean {
  return ctx.store.lightRecords === true || ctx.dispatcher?.carriesMessages === true;
}

/**
 * Refuses, before a bulk cancel starts, a filter too large for a mark (only where marks are written: a
 * store or dispatcher that keeps messages unlisted).
 */
export function assertMarkable(ctx: MarkContext, query: ListQuery): void {
  if (!needsMark(ctx, query)) return;
  if (markBytes(query.filter) > MAX_MARK_BYTES) {
    throw badRequest(`the filters of a bulk cancel may take at most ${MAX_MARK_BYTES} bytes (as JSON) here`);
  }
}

/**
 * Messages with a queue or a flow-control key are always listed, and named ids are looked up one by one
 * (cancel.ts): a filter on any of them needs no mark.
 */
const needsMark = (ctx: MarkContext, query: ListQuery): boolean =>
  keepsUnlisted(ctx) && !query.filter.queueName && !query.filter.flowControlKey && !query.filter.messageId;

/**
 * Cancels the unlisted messages the query matches (created until now), as their jobs come: called by a
 * bulk cancel once its walk of the pending messages came to their end. Answers once every process that
 * attempts sees the mark.
 */
export async function markUnlistedCanceled(ctx: MarkContext, query: ListQuery): Promise<void> {
  if (!needsMark(ctx, query)) return;
  const readAt = ctx.clock.now();
  const mark: CancelMark = {
    // A little ahead: a message another container made as the cancel ran, its clock behind ours, is still
    // covered; one published after the answer (a second later) is not.
    at: readAt + CLOCK_MARGIN_MS,
    filter: query.filter,
    ...(query.fromDate !== undefined ? { fromDate: query.fromDate } : {}),
    ...(query.toDate !== undefined ? { toDate: query.toDate } : {}),
  };
  const scope = JSON.stringify([mark.filter, mark.fromDate, mark.toDate]);
  const coversAll = Object.keys(mark.filter).length === 0 && mark.fromDate === undefined && mark.toDate === undefined;
  const marks = await updateRecord<CancelMark[]>(ctx, KIND, NAME, (current = []) => {
    // A mark of the same filter and dates covers everything an earlier one did, and one of no filter
    // every earlier mark; only earlier ones go. A concurrent cancel's mark may be later than this one
    // (its walk started after ours, its write landed first, or its container's clock is ahead): it stays.
    const replaced = (m: CancelMark): boolean =>
      m.at <= mark.at && (coversAll || JSON.stringify([m.filter, m.fromDate, m.toDate]) === scope);
    const kept = current
      .filter((m) => m.at >= mark.at - CANCEL_MARK_LIFE_MS && !replaced(m))
      .sort((a, b) => a.at - b.at);
    // The caps drop the oldest of the others; this cancel's own mark stays (it answers as marked).
    while (kept.length > 0 && (kept.length >= MAX_MARKS || markBytes([...kept, mark]) > MAX_MARKS_BYTES)) kept.shift();
    return [...kept, mark].sort((a, b) => a.at - b.at);
  });
  // This process sees it at once (as of before the write: a mark another process wrote meanwhile is in
  // the record read); the others once their marks are older than the wait.
  read.obtain(ctx.store, NAME).latest = { readAt, marks: Promise.resolve(marks ?? [mark]) };
  await ctx.clock.sleep?.(MARKED_ANSWER_DELAY_MS);
}

/**
 * Whether a pending status may be one a bulk cancel's walk did not see: a light record before its first
 * attempt, or a RETRY (an unlisted message's first attempt in flight when the walk ran, failing after
 * it; or a retry listed just as the walk read past it).
 */
export const unseenByWalk = (status: MessageStatus): boolean =>
  (status.implicit === true && status.state === "CREATED") || status.state === "RETRY";

/** The mark that cancels this unlisted message, if one does. */
export async function cancelMarkOf(ctx: MarkContext, message: Message): Promise<CancelMark | undefined> {
  if (!keepsUnlisted(ctx)) return undefined;
  const [marks, now] = [await currentMarks(ctx), ctx.clock.now()];
  return marks.find(
    (m) =>
      m.at >= now - CANCEL_MARK_LIFE_MS && // kept in the record until a later mark's write drops it
      message.createdAt <= m.at &&
      (m.fromDate === undefined || message.createdAt >= m.fromDate) &&
      (m.toDate === undefined || message.createdAt <= m.toDate) &&
      matchesFilter(message, m.filter),
  );
}

/** The marks this process read last, for CANCEL_MARKS_FRESH_MS from the moment the read was sent. */
const read = processState<{ latest?: { readAt: number; marks: Promise<CancelMark[]> } }>(() => ({}));

function currentMarks(ctx: MarkContext): Promise<CancelMark[]> {
  const now = ctx.clock.now();
  const memo = read.obtain(ctx.store, NAME);
  const latest = memo.latest;
  if (latest && now >= latest.readAt && now - latest.readAt < CANCEL_MARKS_FRESH_MS) return latest.marks;
  const marks = ctx.store.getRecord<CancelMark[]>(KIND, NAME).then((record) => record?.value ?? []);
  const entry = { readAt: now, marks };
  memo.latest = entry;
  // A failed read is not kept: the next caller reads again.
  marks.catch(() => {
    if (memo.latest === entry) memo.latest = undefined;
  });
  return marks;
}
