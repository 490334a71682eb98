// The event log on DynamoDB: log pages (log-pages.ts) under L#<day>#<shard>, sort key `<time13>.<seq>`.
// A page's time is when it was written (at least its last event's) — a record page's, its message's
// creation (recordPageKey) —, so every event of a page is at or before the page's time. With `defer`,
// appended events wait for flushEvents() (or EVENT_FLUSH_MS) and go out as few pages as they fit in: one
// per Lambda invocation instead of one per store call.
import { BatchWriteCommand } from "@aws-sdk/lib-dynamodb";
import { messageIdTime } from "../../core/ids.ts";
import { FINAL_STATES, type LogEvent, type Message, type MessageState } from "../../core/message.ts";
import type { EventLog, LoggedEvent, Positioned, ScanOptions } from "../../ports.ts";
import { mergeSorted } from "../merge-sorted.ts";
import { scanWindow, toBytes } from "../store-codec.ts";
import { batchRetryDelay, compare, pad, shardOf, type DynamoTable, type Item } from "./dynamo-table.ts";
import { decodePage, EMPTY_PAGE, encodePages } from "./log-pages.ts";
import { SHARDS } from "./table-schema.ts";

/** Events are indexed by day: an unfiltered scan over the retention reads few, mostly empty, buckets. */
export const BUCKET_MS = 86_400_000;
/**
 * Deferred log events wait at most this long for the rest of their batch (one page instead of several).
 * A FIFO batch runs its records one after another (a queue's lane, sqs-delivery.ts), so it makes its
 * events over its whole invocation: at 100 ms it wrote a page every 100 ms, about five a batch of ten
 * (BENCHMARKS, "Log pages of long batches"). What waits here is history: a stored status is written
 * at once, and the handler flushes before it returns.
 */
const EVENT_FLUSH_MS = 1000;
/**
 * A light record's end (appendEvents' `ends`) and a lean message's events (`carried`) wait at most this
 * long: the log is the only record that the message ended. Until its page is written `GET` and `DELETE`
 * read a light record as pending, and a job SQS gives again (its batch's Lambda died) is attempted again.
 */
const END_FLUSH_MS = 100;

/**
 * Whether pending events are the only record of how a message ended: a light record's end, or a lean
 * message carried in its job (§19). A job given again looks for them in the log before attempting again.
 */
const onlyInTheLog = (ends: string[], carried: Message[]): boolean => ends.length > 0 || carried.length > 0;

/** Timers of the flush (the global ones; a test's own, to play time). */
export interface FlushTimers {
  set(run: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}
const GLOBAL_TIMERS: FlushTimers = {
  set: (run, ms) => setTimeout(run, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
/** A page's events are written this soon after they happen, at most (a delivery batch's time, and then some). */
const PAGE_LATENESS_MS = 3_600_000;

/** Ids of newMessageId's shape: their time is their message's creation (a derived callback id's is not). */
export const RECORD_PAGE_ID = /^msg_[0-9A-HJKMNP-TV-Z]{26}$/;

/**
 * Where a message item lives (docs/architecture.md §7): a log page of its own, holding the message's first
 * events and, beside them, the message itself — one write where a message item and a log page were two. Its
 * key comes from the id alone (the creation time it encodes, and its shard), so the message is found by id;
 * its sort key sorts with the other pages' `<time13>.<seq>`, first among those of its millisecond (`-`
 * sorts before the sequence keys' digits; its later events are in later pages). Undefined for an id of
 * another shape.
 */
export function recordPageKey(messageId: string): { PK: string; SK: string } | undefined {
  const time = RECORD_PAGE_ID.test(messageId) ? messageIdTime(messageId) : undefined;
  if (time === undefined) return undefined;
  return { PK: `L#${Math.floor(time / BUCKET_MS)}#${shardOf(messageId)}`, SK: `${pad(time)}.-${messageId}` };
}

// Sequence keys order events written by one container in the order they were written, and are unique
// across containers (a random tag per container).
const containerTag = Math.random().toString(36).slice(2, 6).padEnd(4, "0");
let sequence = 0;
const nextSeqKey = (): string => `${(sequence++).toString(36).padStart(8, "0")}${containerTag}`;

/** `<page sort key>.<index>` of an event's position. */
function parsePosition(key: string): { page: string; index: number } | undefined {
  const dot = key.lastIndexOf(".");
  const index = Number(key.slice(dot + 1));
  return dot > 0 && Number.isSafeInteger(index) ? { page: key.slice(0, dot), index } : undefined;
}

function comparePositionKeys(a: string, b: string): number {
  const pa = parsePosition(a);
  const pb = parsePosition(b);
  if (!pa || !pb) return compare(a, b);
  return compare(pa.page, pb.page) || pa.index - pb.index;
}

interface Found {
  event: LogEvent;
  key: string;
  carried: Map<string, Message>;
}

export interface DynamoEventLogOptions {
  table: DynamoTable;
  retentionMs: number;
  now: () => number;
  /** Keep appended events until flushEvents(). */
  defer: boolean;
  /**
   * The message an event belongs to, when it has a record (the entries show it): the store's read by id
   * (the message exists only with its status, so both are read, as the store's getMessage does).
   */
  getMessage: (messageId: string) => Promise<Message | undefined>;
  /** The message a record page holds (recordPageKey), or undefined for a page of events only. */
  recordOf: (page: Item) => Promise<Message | undefined>;
  /** The deferred flush's timers and their clock (ms); the global ones by default. */
  timers?: FlushTimers & { now(): number };
}

export class DynamoEventLog implements EventLog {
  private readonly table: DynamoTable;
  private readonly options: DynamoEventLogOptions;
  private deferred: { events: LogEvent[]; carried: Message[]; ends: string[] } | undefined;
  private readonly timers: FlushTimers & { now(): number };
  private flushTimer: { handle: unknown; due: number } | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(options: DynamoEventLogOptions) {
    this.table = options.table;
    this.options = options;
    this.timers = options.timers ?? { ...GLOBAL_TIMERS, now: () => performance.now() };
    if (options.defer) this.deferred = { events: [], carried: [], ends: [] };
  }

  private expiresAt(fromMs: number): number {
    return Math.ceil((fromMs + this.options.retentionMs) / 1000);
  }

  async appendEvents(events: LogEvent[], carried: Message[] = [], ends: string[] = []): Promise<void> {
    if (events.length === 0) return;
    if (this.deferred) {
      this.deferred.events.push(...events);
      this.deferred.carried.push(...carried);
      this.deferred.ends.push(...ends);
      // A slow destination must not hold the rest of its batch out of the log: what is pending is written
      // at most EVENT_FLUSH_MS after it was appended (END_FLUSH_MS for what only the log records), or when
      // the handler flushes, whichever comes first.
      this.flushWithin(onlyInTheLog(ends, carried) ? END_FLUSH_MS : EVENT_FLUSH_MS);
      return;
    }
    await this.writePages(events, carried);
  }

  /**
   * With `defer`, writes the events appended since the last flush, as few pages as they fit in.
   * The Lambda handlers call it before they return (before SQS deletes the batch that made them).
   */
  async flushEvents(): Promise<void> {
    this.stopTimer();
    await this.flushing;
    this.stopTimer(); // a timer's write that failed meanwhile may have set it again
    await this.writeDeferred();
  }

  /** Makes what is pending go out within `wait` ms, unless a timer set before fires sooner. */
  private flushWithin(wait: number): void {
    const due = this.timers.now() + wait;
    if (this.flushTimer !== undefined && due >= this.flushTimer.due) return;
    this.stopTimer();
    const handle = this.timers.set(() => {
      this.flushTimer = undefined;
      this.flushing = this.flushing
        .then(() => this.writeDeferred())
        .catch(() => {
          // Kept for the next flush. What only the log records is tried again soon: the handler's own
          // flush may be minutes away in a long FIFO batch, and GET reads those messages as pending.
          const pending = this.deferred;
          if (pending && onlyInTheLog(pending.ends, pending.carried)) this.flushWithin(END_FLUSH_MS);
        });
    }, wait);
    this.flushTimer = { handle, due };
  }

  private stopTimer(): void {
    if (this.flushTimer) this.timers.clear(this.flushTimer.handle);
    this.flushTimer = undefined;
  }

  private async writeDeferred(): Promise<void> {
    if (!this.deferred || this.deferred.events.length === 0) return;
    const { events, carried, ends } = this.deferred;
    this.deferred = { events: [], carried: [], ends: [] };
    try {
      await this.writePages(events, carried);
    } catch (error) {
      this.deferred.events.unshift(...events); // kept for the next flush (emulated AWS shares one store)
      this.deferred.carried.unshift(...carried);
      this.deferred.ends.unshift(...ends);
      throw error;
    }
  }

  /**
   * The ends (appendEvents) among the events held back, handed to the caller to record another way: the
   * events stay for the next flush; the ends are no longer this log's to keep.
   */
  takeEnds(): string[] {
    if (!this.deferred) return [];
    const { ends } = this.deferred;
    this.deferred.ends = [];
    return ends;
  }

  private async writePages(events: LogEvent[], carried: Message[]): Promise<void> {
    const now = this.options.now();
    const items = encodePages(events, carried).map(({ data, lastTime }) => {
      const time = Math.max(now, lastTime);
      return {
        PK: `L#${Math.floor(time / BUCKET_MS)}#${Math.floor(Math.random() * SHARDS)}`,
        SK: `${pad(time)}.${nextSeqKey()}`,
        z: data,
        expiresAt: this.expiresAt(time),
      };
    });
    const table = this.table.name;
    for (let i = 0; i < items.length; i += 25) {
      let requests = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt === 8) throw new Error(`DynamoDB kept ${requests.length} log pages unprocessed`);
        const result = await this.table.doc.send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
        requests = (result.UnprocessedItems?.[table] ?? []) as typeof requests;
        if (requests.length > 0) await batchRetryDelay(attempt);
      }
    }
  }

  /**
   * The record page (recordPageKey) a message item is written as, with what of these events it holds:
   * all of them, or none when they cannot share it (an event later than the time the id encodes — a page
   * holds events at or before its time —, more than one page of them) or need not (other events wait for
   * this invocation's page already: they join those for nothing). `held` says which; the caller appends
   * the events itself otherwise. The key depends on the id alone, so every create of an id writes the one
   * item (its put-if-absent guards it).
   */
  recordPage(messageId: string, events: LogEvent[]): { page: Item; held: boolean } | undefined {
    const key = recordPageKey(messageId);
    if (!key) return undefined;
    const empty = { page: { ...key, z: EMPTY_PAGE }, held: false };
    if (this.deferred && this.deferred.events.length > 0) return empty;
    if (events.some((event) => event.time > Number(key.SK.slice(0, 13)))) return empty;
    const pages = encodePages(events, []);
    if (pages.length !== 1) return empty;
    return { page: { ...key, z: (pages[0] as { data: Uint8Array }).data }, held: true };
  }

  /** Adds a record page's own message to the messages its page holds (those carried, lean). */
  private async addOwn(page: Item, carried: Map<string, Message>): Promise<void> {
    const own = await this.options.recordOf(page);
    if (own) carried.set(own.messageId, own);
  }

  async *scanEvents(options: ScanOptions & { messageIds?: string[] }): AsyncIterable<Positioned<LoggedEvent>> {
    const messages = new Map<string, Promise<Message | undefined>>();
    const withMessage = async (event: LogEvent, carried: Map<string, Message>): Promise<LoggedEvent> => {
      const own = carried.get(event.messageId);
      if (own) return { event, message: own };
      if (!messages.has(event.messageId)) {
        if (messages.size > 1000) messages.clear();
        messages.set(event.messageId, this.options.getMessage(event.messageId));
      }
      const message = await messages.get(event.messageId);
      return message ? { event, message } : { event };
    };
    if (options.messageIds) {
      for (const { event, key, carried } of await this.eventsOf(options.messageIds, options)) {
        yield { position: { time: event.time, key }, item: await withMessage(event, carried) };
      }
      return;
    }
    // Pages in page order, events in time order within a page; a position names page and index.
    const { desc, after, fromTime = 0, toTime = Number.MAX_SAFE_INTEGER } = scanWindow(options, parsePosition);
    const pages = this.scanPages({
      desc,
      // A page holds events at or before its time, and is written soon after them (late by at most a
      // delivery batch; PAGE_LATENESS_MS bounds what a `toTime` scan looks at).
      fromKey: after && !desc ? after.key.page : `${pad(fromTime)}.`,
      toKey: after && desc ? after.key.page : `${pad(Math.min(toTime + PAGE_LATENESS_MS, 9_999_999_999_999))}.\uffff`,
    });
    for await (const page of pages) {
      const { events, carried } = decodePage(toBytes(page.z));
      const order = events.map((_, i) => i);
      if (desc) order.reverse();
      let ownRead = false; // a record page's message is decoded only for an event that is yielded
      for (const i of order) {
        const event = events[i] as LogEvent;
        if (after && page.SK === after.key.page && (desc ? i >= after.key.index : i <= after.key.index)) continue;
        if (event.time < fromTime || event.time > toTime) continue;
        if (!ownRead) await this.addOwn(page, carried);
        ownRead = true;
        yield { position: { time: event.time, key: `${page.SK}.${i}` }, item: await withMessage(event, carried) };
      }
    }
  }

  /**
   * The events of some messages, ordered by time (then page and index). A message id starts with its
   * creation time, so the scan starts there, and ends once each message has a final event (nothing is
   * logged for a message after that) or at the newest page.
   */
  private async eventsOf(messageIds: string[], options: ScanOptions): Promise<Found[]> {
    const wanted = new Set(messageIds);
    const open = new Set(messageIds);
    const oldest = this.options.now() - this.options.retentionMs - BUCKET_MS;
    const created = Math.min(...messageIds.map((id) => messageIdTime(id) ?? oldest));
    const found: Found[] = [];
    // Clocks of different writers may disagree a little: start a minute early.
    for await (const page of this.scanPages({ desc: false, fromKey: `${pad(Math.max(oldest, created - 60_000))}.` })) {
      const { events, carried } = decodePage(toBytes(page.z));
      if (!events.some((event) => wanted.has(event.messageId))) continue;
      await this.addOwn(page, carried);
      for (const [i, event] of events.entries()) {
        if (!wanted.has(event.messageId)) continue;
        found.push({ event, key: `${page.SK}.${i}`, carried });
        if (FINAL_STATES.includes(event.state as MessageState)) open.delete(event.messageId);
      }
      if (open.size === 0) break;
    }
    // Any key resumes exclusively here (compared as a position where it reads as one).
    const { desc, after, fromTime, toTime } = scanWindow(options, (key) => key);
    const sign = desc ? -1 : 1;
    const compareFound = (a: { time: number; key: string }, b: { time: number; key: string }): number =>
      sign * (a.time - b.time || comparePositionKeys(a.key, b.key));
    found.sort((a, b) => compareFound({ time: a.event.time, key: a.key }, { time: b.event.time, key: b.key }));
    return found.filter(({ event, key }) => {
      if (fromTime !== undefined && event.time < fromTime) return false;
      if (toTime !== undefined && event.time > toTime) return false;
      return !after || compareFound({ time: event.time, key }, after) > 0;
    });
  }

  /** Log pages with sort keys in [fromKey, toKey], across the day buckets and shards, in key order. */
  private async *scanPages(range: { desc: boolean; fromKey: string; toKey?: string }): AsyncIterable<Item> {
    const now = this.options.now();
    const toKey = range.toKey ?? `${pad(now + BUCKET_MS)}.\uffff`;
    const fromTime = Math.max(Number(range.fromKey.slice(0, 13)), now - this.options.retentionMs - BUCKET_MS);
    const toTime = Math.min(Number(toKey.slice(0, 13)), now + BUCKET_MS);
    const first = Math.floor(fromTime / BUCKET_MS);
    const last = Math.floor(toTime / BUCKET_MS);
    for (let i = 0; i <= last - first; i++) {
      const bucket = range.desc ? last - i : first + i;
      const shards = Array.from({ length: SHARDS }, (_, shard) =>
        this.table.queryAll({
          KeyConditionExpression: "PK = :pk AND SK BETWEEN :lo AND :hi",
          ExpressionAttributeValues: { ":pk": `L#${bucket}#${shard}`, ":lo": range.fromKey, ":hi": toKey },
          ScanIndexForward: !range.desc,
        }),
      );
      yield* mergeSorted(shards, (a, b) => (range.desc ? -1 : 1) * compare(a.SK as string, b.SK as string));
    }
  }
}
