// A bulk cancel's reach into the messages no list holds (docs/architecture.md §13, "Messages no list
// holds"): light records before their first attempt (§19) and messages carried in their jobs (lean).
import type { Clock, Dispatcher, MessageStore, RecordStore } from "../ports.ts";
import { matchesFilter, type ListQuery, type MessageFilter } from "./filters.ts";
import type { Message } from "./message.ts";
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
 * The most marks kept (about 60 bytes each with a short filter): beyond it the oldest goes, so a stream
 * of filtered cancels does not grow what every delivery reads. The messages only that mark covered are
 * then attempted, as they were before marks (docs/qstash-api.md §24).
 */
const MAX_MARKS = 100;
/**
 * How long a process uses the marks it read. A bulk cancel that writes one waits as long before it
 * answers, so an attempt that starts after its answer used marks read after the mark was written.
 */
export const CANCEL_MARKS_FRESH_MS = 1_000;

/** Whether a store or dispatcher keeps messages out of every list until their first attempt fails. */
export function keepsUnlisted(ctx: MarkContext): boolean {
  return ctx.store.lightRecords === true || ctx.dispatcher?.carriesMessages === true;
}

/**
 * Cancels the unlisted messages the query matches (created until now), as their jobs come: called by a
 * bulk cancel once its walk of the pending messages came to their end. Answers once every process that
 * attempts sees the mark. Messages with a queue or a flow-control key are always listed: a filter that
 * needs either writes no mark.
 */
export async function markUnlistedCanceled(ctx: MarkContext, query: ListQuery): Promise<void> {
  if (!keepsUnlisted(ctx) || query.filter.queueName || query.filter.flowControlKey) return;
  const mark: CancelMark = {
    at: ctx.clock.now(),
    filter: query.filter,
    ...(query.fromDate !== undefined ? { fromDate: query.fromDate } : {}),
    ...(query.toDate !== undefined ? { toDate: query.toDate } : {}),
  };
  const scope = JSON.stringify([mark.filter, mark.fromDate, mark.toDate]);
  const marks = await updateRecord<CancelMark[]>(ctx, KIND, NAME, (current = []) => {
    // A later mark of the same filter covers everything an earlier one did.
    const kept = current.filter(
      (m) => m.at >= mark.at - CANCEL_MARK_LIFE_MS && JSON.stringify([m.filter, m.fromDate, m.toDate]) !== scope,
    );
    return [...kept, mark].slice(-MAX_MARKS);
  });
  // This process sees it at once; the others once their marks are older than the wait.
  read.obtain(ctx.store, NAME).latest = { readAt: ctx.clock.now(), marks: Promise.resolve(marks ?? [mark]) };
  await ctx.clock.sleep?.(CANCEL_MARKS_FRESH_MS);
}

/** The mark that cancels this unlisted message, if one does. */
export async function cancelMarkOf(ctx: MarkContext, message: Message): Promise<CancelMark | undefined> {
  if (!keepsUnlisted(ctx)) return undefined;
  const marks = await currentMarks(ctx);
  return marks.find(
    (m) =>
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
