import { randomUUID } from "node:crypto";
import { ConditionalCheckFailedException, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type QueryCommandInput,
} from "@aws-sdk/lib-dynamodb";
import type { HeaderMap } from "../../core/headers.ts";
import { messageIdTime } from "../../core/ids.ts";
import {
  FINAL_STATES,
  type DlqEntry,
  type LogEvent,
  type Message,
  type MessageState,
  type MessageStatus,
  type StoredMessage,
} from "../../core/message.ts";
import type {
  LoggedEvent,
  Positioned,
  QueueEntry,
  RecordKind,
  ScanOptions,
  ScanPosition,
  Store,
  Versioned,
} from "../../ports.ts";
import type { BlobStore } from "./s3-blob-store.ts";
import { GSI_LISTS, SHARDS } from "./table-schema.ts";
import { decodePage, encodePages } from "./log-pages.ts";
import { mergeSorted } from "../merge-sorted.ts";

type Item = Record<string, unknown>;

/** Events are indexed by day: an unfiltered scan over the retention reads few, mostly empty, buckets. */
const BUCKET_MS = 86_400_000;
const MESSAGE_SK = "#M";
const STATUS_SK = "#S";
const DLQ_SK = "#D";
const INDEXED_STATES: readonly MessageState[] = ["CREATED", "RETRY", "CANCEL_REQUESTED"];
/** Bodies above this go to S3 (an item holds at most 400 KB, attributes and indexes included). */
const INLINE_BODY_BYTES = 100 * 1024;

const pad = (time: number): string => String(time).padStart(13, "0");
const padSeq = (seq: number): string => String(seq).padStart(15, "0");

function shardOf(id: string): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return h % SHARDS;
}

// Sequence keys order events written by one container in the order they were written, and are unique
// across containers (a random tag per container).
const containerTag = Math.random().toString(36).slice(2, 6).padEnd(4, "0");
let sequence = 0;
const nextSeqKey = (): string => `${(sequence++).toString(36).padStart(8, "0")}${containerTag}`;

export interface DynamoStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  blobs: BlobStore;
  /** How long logs, DLQ entries and finished messages are kept (TTL), ms. */
  retentionMs: number;
  /** Keep appended events until flushEvents() (the Lambda handlers: one log page per batch or request). */
  deferEvents?: boolean;
  now?: () => number;
}

/**
 * The AWS Store on one DynamoDB table (see table-schema.ts). Status changes are conditional updates of
 * a small item, so they are idempotent under SQS redelivery and cheap (billed per KB of the item).
 */
export class DynamoStore implements Store {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly blobs: BlobStore;
  private readonly retentionMs: number;
  private readonly now: () => number;
  private deferred: { events: LogEvent[]; carried: Message[] } | undefined;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(options: DynamoStoreOptions) {
    this.doc = DynamoDBDocumentClient.from(options.client, {
      marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
    });
    this.table = options.tableName;
    this.blobs = options.blobs;
    this.retentionMs = options.retentionMs;
    this.now = options.now ?? Date.now;
    if (options.deferEvents) this.deferred = { events: [], carried: [] };
  }

  private expiresAt(fromMs: number): number {
    return Math.ceil((fromMs + this.retentionMs) / 1000);
  }

  // ---- messages ---------------------------------------------------------------------------------

  async createMessage(message: Message, status: MessageStatus, events: LogEvent[]): Promise<boolean> {
    const pk = `M#${message.messageId}`;
    // The message item is written once and never again (its body makes every write cost more), so its
    // expiry is set now, past the latest it could finish: its delay plus every possible retry (each
    // backoff is at most a day), plus the retention. The small status item expires with the retention
    // once the message is finished; without it the message reads as gone.
    // A queued message may also wait for its turn: up to a year (a paused queue) before TTL may take it.
    const waitForTurn = message.queueName === undefined ? 0 : 365 * 86_400_000;
    const horizon = message.notBefore + waitForTurn + (message.maxRetries + 1) * 86_400_000;
    const { body: _body, ...meta } = message;
    // Message first, status second: the status item is the commit point that makes the message exist.
    // Both are put only if absent: a repeated create (a derived callback id after a crash) changes nothing.
    await this.doc
      .send(
        new PutCommand({
          TableName: this.table,
          Item: {
            PK: pk,
            SK: MESSAGE_SK,
            meta: JSON.stringify(meta),
            ...(await this.storeBytes(`bodies/${message.messageId}`, message.body, "body")),
            expiresAt: this.expiresAt(horizon),
          },
          ConditionExpression: "attribute_not_exists(PK)",
        }),
      )
      .catch(ignoreConditionFailure);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            PK: pk,
            SK: STATUS_SK,
            ...this.statusAttributes(message.messageId, message.createdAt, status, horizon),
          },
          ConditionExpression: "attribute_not_exists(PK)",
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
    await this.appendEvents(events);
    return true;
  }

  private statusAttributes(messageId: string, createdAt: number, status: MessageStatus, horizon: number): Item {
    const indexed = INDEXED_STATES.includes(status.state);
    return {
      state: status.state,
      retried: status.retried,
      createdAt,
      ...(indexed ? { g2pk: `S#${status.state}#${shardOf(messageId)}`, g2sk: `${pad(createdAt)}#${messageId}` } : {}),
      expiresAt: this.expiresAt(indexed ? horizon : this.now()),
    };
  }

  async getMessage(messageId: string): Promise<StoredMessage | undefined> {
    // One query reads both the message and its status (their sort keys sort before the events).
    const result = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: "PK = :pk AND SK < :events",
        ExpressionAttributeValues: { ":pk": `M#${messageId}`, ":events": "E" },
        ConsistentRead: true,
      }),
    );
    const items = result.Items ?? [];
    const messageItem = items.find((i) => i.SK === MESSAGE_SK);
    const statusItem = items.find((i) => i.SK === STATUS_SK);
    if (!messageItem || !statusItem) return undefined;
    return {
      message: await this.toMessage(messageItem),
      status: { state: statusItem.state as MessageState, retried: Number(statusItem.retried) },
    };
  }

  private async toMessage(item: Item): Promise<Message> {
    const meta = JSON.parse(item.meta as string) as Omit<Message, "body">;
    return { ...meta, body: await this.loadBytes(item, "body") };
  }

  async updateStatus(
    messageId: string,
    expected: MessageStatus,
    next: MessageStatus,
    events: LogEvent[],
  ): Promise<boolean> {
    const indexed = INDEXED_STATES.includes(next.state);
    const now = this.now();
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { PK: `M#${messageId}`, SK: STATUS_SK },
          ConditionExpression: "#state = :expectedState AND retried = :expectedRetried",
          UpdateExpression: indexed
            ? "SET #state = :state, retried = :retried, g2pk = :g2pk, g2sk = if_not_exists(g2sk, :g2sk)"
            : "SET #state = :state, retried = :retried, expiresAt = :expiresAt REMOVE g2pk, g2sk",
          ExpressionAttributeNames: { "#state": "state" },
          ExpressionAttributeValues: {
            ":expectedState": expected.state,
            ":expectedRetried": expected.retried,
            ":state": next.state,
            ":retried": next.retried,
            ...(indexed
              ? { ":g2pk": `S#${next.state}#${shardOf(messageId)}`, ":g2sk": `${pad(now)}#${messageId}` }
              : { ":expiresAt": this.expiresAt(now) }),
          },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
    await this.appendEvents(events);
    return true;
  }

  async *scanMessages(states: readonly MessageState[]): AsyncIterable<StoredMessage> {
    const streams = states.flatMap((state) => {
      if (!INDEXED_STATES.includes(state)) throw new Error(`messages in state ${state} are not listed`);
      return Array.from({ length: SHARDS }, (_, shard) =>
        this.queryAll({
          IndexName: GSI_LISTS.indexName,
          KeyConditionExpression: "g2pk = :pk",
          ExpressionAttributeValues: { ":pk": `S#${state}#${shard}` },
        }),
      );
    });
    for await (const item of mergeSorted(streams, (a, b) => compare(a.g2sk as string, b.g2sk as string))) {
      const messageItem = await this.doc.send(
        new GetCommand({
          TableName: this.table,
          Key: { PK: item.PK, SK: MESSAGE_SK },
          ProjectionExpression: "meta", // bodies are not needed to list (and may be in S3)
        }),
      );
      if (!messageItem.Item || !states.includes(item.state as MessageState)) continue;
      const meta = JSON.parse(messageItem.Item.meta as string) as Omit<Message, "body">;
      yield {
        message: { ...meta, body: new Uint8Array(0) },
        status: { state: item.state as MessageState, retried: Number(item.retried) },
      };
    }
  }

  // ---- events -----------------------------------------------------------------------------------
  // Log pages (log-pages.ts) under L#<day>#<shard>, sort key `<time13>.<seq>`: the page's time is when it
  // was written (at least its last event's), so every event of a page is at or before the page's time.

  async appendEvents(events: LogEvent[], carried: Message[] = []): Promise<void> {
    if (events.length === 0) return;
    if (this.deferred) {
      this.deferred.events.push(...events);
      this.deferred.carried.push(...carried);
      // A slow destination must not hold the rest of its batch out of the log: what is pending is written
      // at most EVENT_FLUSH_MS after it was appended, or when the handler flushes, whichever comes first.
      this.flushTimer ??= setTimeout(() => {
        this.flushTimer = undefined;
        this.flushing = this.flushing.then(() => this.writeDeferred()).catch(() => undefined); // kept for the next
      }, EVENT_FLUSH_MS);
      return;
    }
    await this.writePages(events, carried);
  }

  /**
   * With `deferEvents`, writes the events appended since the last flush, as few pages as they fit in.
   * The Lambda handlers call it before they return (before SQS deletes the batch that made them).
   */
  async flushEvents(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    await this.flushing;
    await this.writeDeferred();
  }

  private async writeDeferred(): Promise<void> {
    if (!this.deferred || this.deferred.events.length === 0) return;
    const { events, carried } = this.deferred;
    this.deferred = { events: [], carried: [] };
    try {
      await this.writePages(events, carried);
    } catch (error) {
      this.deferred.events.unshift(...events); // kept for the next flush (emulated AWS shares one store)
      this.deferred.carried.unshift(...carried);
      throw error;
    }
  }

  private async writePages(events: LogEvent[], carried: Message[]): Promise<void> {
    const now = this.now();
    const items = encodePages(events, carried).map(({ data, lastTime }) => {
      const time = Math.max(now, lastTime);
      return {
        PK: `L#${Math.floor(time / BUCKET_MS)}#${Math.floor(Math.random() * SHARDS)}`,
        SK: `${pad(time)}.${nextSeqKey()}`,
        z: data,
        expiresAt: this.expiresAt(time),
      };
    });
    for (let i = 0; i < items.length; i += 25) {
      let requests = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt === 8) throw new Error(`DynamoDB kept ${requests.length} log pages unprocessed`);
        const result = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: requests } }));
        requests = (result.UnprocessedItems?.[this.table] ?? []) as typeof requests;
        if (requests.length > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt)));
      }
    }
  }

  async *scanEvents(options: ScanOptions & { messageIds?: string[] }): AsyncIterable<Positioned<LoggedEvent>> {
    const messages = new Map<string, Promise<Message | undefined>>();
    const withMessage = async (event: LogEvent, carried: Map<string, Message>): Promise<LoggedEvent> => {
      const own = carried.get(event.messageId);
      if (own) return { event, message: own };
      if (!messages.has(event.messageId)) {
        if (messages.size > 1000) messages.clear();
        messages.set(
          event.messageId,
          this.getMessage(event.messageId).then((s) => s?.message),
        );
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
    const desc = options.order === "latestFirst";
    const after = options.after?.key === undefined ? undefined : parsePosition(options.after.key);
    let fromTime = options.fromTime ?? 0;
    let toTime = options.toTime ?? Number.MAX_SAFE_INTEGER;
    if (options.after && !after) {
      // A bare time (the SDK's `cursor = Date.now()`) resumes at that millisecond, inclusive.
      if (desc) toTime = Math.min(toTime, options.after.time);
      else fromTime = Math.max(fromTime, options.after.time);
    }
    const pages = this.scanPages({
      desc,
      // A page holds events at or before its time, and is written soon after them (late by at most a
      // delivery batch; PAGE_LATENESS_MS bounds what a `toTime` scan looks at).
      fromKey: after && !desc ? after.page : `${pad(fromTime)}.`,
      toKey: after && desc ? after.page : `${pad(Math.min(toTime + PAGE_LATENESS_MS, 9_999_999_999_999))}.\uffff`,
    });
    for await (const page of pages) {
      const { events, carried } = decodePage(toBytes(page.z));
      const order = events.map((_, i) => i);
      if (desc) order.reverse();
      for (const i of order) {
        const event = events[i] as LogEvent;
        if (after && page.SK === after.page && (desc ? i >= after.index : i <= after.index)) continue;
        if (event.time < fromTime || event.time > toTime) continue;
        yield { position: { time: event.time, key: `${page.SK}.${i}` }, item: await withMessage(event, carried) };
      }
    }
  }

  /**
   * The events of some messages, ordered by time (then page and index). A message id starts with its
   * creation time, so the scan starts there, and ends once each message has a final event (nothing is
   * logged for a message after that) or at the newest page.
   */
  private async eventsOf(
    messageIds: string[],
    options: ScanOptions,
  ): Promise<{ event: LogEvent; key: string; carried: Map<string, Message> }[]> {
    const wanted = new Set(messageIds);
    const open = new Set(messageIds);
    const now = this.now();
    const oldest = now - this.retentionMs - BUCKET_MS;
    const created = Math.min(...messageIds.map((id) => messageIdTime(id) ?? oldest));
    const found: { event: LogEvent; key: string; carried: Map<string, Message> }[] = [];
    // Clocks of different writers may disagree a little: start a minute early.
    for await (const page of this.scanPages({ desc: false, fromKey: `${pad(Math.max(oldest, created - 60_000))}.` })) {
      const { events, carried } = decodePage(toBytes(page.z));
      for (const [i, event] of events.entries()) {
        if (!wanted.has(event.messageId)) continue;
        found.push({ event, key: `${page.SK}.${i}`, carried });
        if (FINAL_STATES.includes(event.state as MessageState)) open.delete(event.messageId);
      }
      if (open.size === 0) break;
    }
    const desc = options.order === "latestFirst";
    const sign = desc ? -1 : 1;
    const compareFound = (a: { event: LogEvent; key: string }, b: { event: LogEvent; key: string }): number =>
      sign * (a.event.time - b.event.time || comparePositionKeys(a.key, b.key));
    found.sort(compareFound);
    const after = options.after;
    return found.filter(({ event, key }) => {
      if (options.fromTime !== undefined && event.time < options.fromTime) return false;
      if (options.toTime !== undefined && event.time > options.toTime) return false;
      if (!after) return true;
      if (after.key === undefined) return desc ? event.time <= after.time : event.time >= after.time;
      return compareFound({ event, key }, { event: { ...event, time: after.time }, key: after.key }) > 0;
    });
  }

  /** Log pages with sort keys in [fromKey, toKey], across the day buckets and shards, in key order. */
  private async *scanPages(range: { desc: boolean; fromKey: string; toKey?: string }): AsyncIterable<Item> {
    const now = this.now();
    const toKey = range.toKey ?? `${pad(now + BUCKET_MS)}.\uffff`;
    const fromTime = Math.max(Number(range.fromKey.slice(0, 13)), now - this.retentionMs - BUCKET_MS);
    const toTime = Math.min(Number(toKey.slice(0, 13)), now + BUCKET_MS);
    const first = Math.floor(fromTime / BUCKET_MS);
    const last = Math.floor(toTime / BUCKET_MS);
    for (let i = 0; i <= last - first; i++) {
      const bucket = range.desc ? last - i : first + i;
      const shards = Array.from({ length: SHARDS }, (_, shard) =>
        this.queryAll({
          KeyConditionExpression: "PK = :pk AND SK BETWEEN :lo AND :hi",
          ExpressionAttributeValues: { ":pk": `L#${bucket}#${shard}`, ":lo": range.fromKey, ":hi": toKey },
          ScanIndexForward: !range.desc,
        }),
      );
      yield* mergeSorted(shards, (a, b) => (range.desc ? -1 : 1) * compare(a.SK as string, b.SK as string));
    }
  }

  // ---- DLQ ----------------------------------------------------------------------------------------

  async putDlq(entry: DlqEntry): Promise<void> {
    const { message, response, ...rest } = entry;
    const { body: _body, ...meta } = message;
    const record = {
      ...rest,
      meta,
      ...(response ? { response: { status: response.status, header: response.header } } : {}),
    };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            PK: `D#${entry.dlqId}`,
            SK: DLQ_SK,
            entry: JSON.stringify(record),
            ...(await this.storeBytes(`bodies/${message.messageId}`, message.body, "body")),
            ...(response ? await this.storeBytes(`responses/${entry.dlqId}`, response.body, "responseBody") : {}),
            g2pk: `DLQ#${shardOf(entry.dlqId)}`,
            g2sk: `${pad(entry.failedAt)}#${entry.dlqId}`,
            expiresAt: this.expiresAt(entry.failedAt),
          },
          ConditionExpression: "attribute_not_exists(PK)",
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  private async toDlqEntry(item: Item): Promise<DlqEntry> {
    const record = JSON.parse(item.entry as string) as Omit<DlqEntry, "message" | "response"> & {
      meta: Omit<Message, "body">;
      response?: { status: number; header: HeaderMap };
    };
    const { meta, response, ...rest } = record;
    const entry: DlqEntry = { ...rest, message: { ...meta, body: await this.loadBytes(item, "body") } };
    if (response) entry.response = { ...response, body: await this.loadBytes(item, "responseBody") };
    return entry;
  }

  async getDlq(dlqId: string): Promise<DlqEntry | undefined> {
    const result = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: { PK: `D#${dlqId}`, SK: DLQ_SK }, ConsistentRead: true }),
    );
    return result.Item ? this.toDlqEntry(result.Item) : undefined;
  }

  async deleteDlq(dlqId: string): Promise<boolean> {
    const result = await this.doc.send(
      new DeleteCommand({ TableName: this.table, Key: { PK: `D#${dlqId}`, SK: DLQ_SK }, ReturnValues: "ALL_OLD" }),
    );
    return result.Attributes !== undefined;
  }

  async *scanDlq(options: ScanOptions): AsyncIterable<Positioned<DlqEntry>> {
    const desc = options.order === "latestFirst";
    const { lo, hi } = sortKeyBounds(options);
    const shards = Array.from({ length: SHARDS }, (_, shard) =>
      this.queryAll({
        IndexName: GSI_LISTS.indexName,
        KeyConditionExpression: "g2pk = :pk AND g2sk BETWEEN :lo AND :hi",
        ExpressionAttributeValues: { ":pk": `DLQ#${shard}`, ":lo": lo, ":hi": hi },
        ScanIndexForward: !desc,
      }),
    );
    const cmp = (a: Item, b: Item): number => (desc ? -1 : 1) * compare(a.g2sk as string, b.g2sk as string);
    for await (const item of mergeSorted(shards, cmp)) {
      const sortKey = item.g2sk as string;
      if (options.after?.key !== undefined && sortKey === `${pad(options.after.time)}#${options.after.key}`) continue;
      const entry = await this.toDlqEntry(item);
      yield { position: { time: entry.failedAt, key: entry.dlqId }, item: entry };
    }
  }

  // ---- records, counters, queue entries, deduplication ------------------------------------------
  // R#<kind> / <name>       a URL group, queue, schedule, flow-control key or deleted-queue marker: JSON + version v
  // C#<name> / #C           a counter (n)
  // QE#<queue> / <seq15>    a queue (or wait list) entry: message id m, parked p
  // DD#<id> / #DD           a deduplication claim: value, live until `until` (ms); TTL removes it later

  async getRecord<T>(kind: RecordKind, name: string): Promise<Versioned<T> | undefined> {
    const result = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: { PK: `R#${kind}`, SK: name }, ConsistentRead: true }),
    );
    const item = result.Item;
    return item ? { value: JSON.parse(item.value as string) as T, version: Number(item.v) } : undefined;
  }

  async putRecord<T>(kind: RecordKind, name: string, value: T, expectedVersion: number | undefined): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { PK: `R#${kind}`, SK: name, v: (expectedVersion ?? 0) + 1, value: JSON.stringify(value) },
          ...(expectedVersion === undefined
            ? { ConditionExpression: "attribute_not_exists(PK)" }
            : { ConditionExpression: "v = :v", ExpressionAttributeValues: { ":v": expectedVersion } }),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async deleteRecord(kind: RecordKind, name: string, expectedVersion?: number): Promise<boolean> {
    try {
      const result = await this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { PK: `R#${kind}`, SK: name },
          ReturnValues: "ALL_OLD",
          ...(expectedVersion === undefined
            ? {}
            : { ConditionExpression: "v = :v", ExpressionAttributeValues: { ":v": expectedVersion } }),
        }),
      );
      return result.Attributes !== undefined;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async listRecords<T>(kind: RecordKind): Promise<T[]> {
    const values: T[] = [];
    const items = this.queryAll({
      KeyConditionExpression: "PK = :pk",
      ExpressionAttributeValues: { ":pk": `R#${kind}` },
      ConsistentRead: true,
    });
    for await (const item of items) values.push(JSON.parse(item.value as string) as T);
    return values;
  }

  async increment(counter: string): Promise<number> {
    const result = await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { PK: `C#${counter}`, SK: "#C" },
        UpdateExpression: "ADD n :one",
        ExpressionAttributeValues: { ":one": 1 },
        ReturnValues: "UPDATED_NEW",
      }),
    );
    return Number(result.Attributes?.n);
  }

  async putQueueEntry(queue: string, entry: Pick<QueueEntry, "seq" | "messageId">): Promise<void> {
    await this.doc
      .send(
        new PutCommand({
          TableName: this.table,
          Item: { PK: `QE#${queue}`, SK: padSeq(entry.seq), m: entry.messageId, p: true },
          ConditionExpression: "attribute_not_exists(PK)",
        }),
      )
      .catch(ignoreConditionFailure);
  }

  async headQueueEntries(queue: string, limit: number): Promise<QueueEntry[]> {
    const result = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: "PK = :pk",
        ExpressionAttributeValues: { ":pk": `QE#${queue}` },
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    return (result.Items ?? []).map((item) => {
      const entry: QueueEntry = { seq: Number(item.SK), messageId: item.m as string, parked: item.p === true };
      if (typeof item.c === "number") entry.claimedAt = item.c;
      return entry;
    });
  }

  async setQueueEntryParked(queue: string, seq: number, parked: boolean, now: number): Promise<boolean> {
    // An un-park (a claim) carries a token of its own: when the SDK retries a claim whose answer was lost
    // (a timeout after DynamoDB applied it), the retry fails its condition, and the item returned with
    // the failure tells whether the claim that stands is this one (bench/faults.ts found claims lost so,
    // and their queues stalled until the sweep's threshold).
    const claim = parked ? undefined : randomUUID();
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { PK: `QE#${queue}`, SK: padSeq(seq) },
          ConditionExpression: "p = :was",
          UpdateExpression: parked ? "SET p = :parked" : "SET p = :parked, c = :now, k = :claim",
          ExpressionAttributeValues: {
            ":was": !parked,
            ":parked": parked,
            ...(parked ? {} : { ":now": now, ":claim": claim }),
          },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return claim !== undefined && error.Item?.k?.S === claim;
      if (claim === undefined) throw error;
      // The claim's outcome is unknown (it may have landed before the error): read it back, so a claim
      // that stands is never taken for one that failed — its queue would wait with a turn out and no job.
      const { Item } = await this.doc.send(
        new GetCommand({
          TableName: this.table,
          Key: { PK: `QE#${queue}`, SK: padSeq(seq) },
          ConsistentRead: true,
          ProjectionExpression: "k",
        }),
      );
      return Item?.k === claim;
    }
  }

  async reclaimQueueEntry(queue: string, seq: number, claimedAt: number, now: number): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { PK: `QE#${queue}`, SK: padSeq(seq) },
          ConditionExpression: "p = :false AND c = :was",
          UpdateExpression: "SET c = :now",
          ExpressionAttributeValues: { ":false": false, ":was": claimedAt, ":now": now },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async deleteQueueEntry(queue: string, seq: number): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.table, Key: { PK: `QE#${queue}`, SK: padSeq(seq) } }));
  }

  async countQueueEntries(queue: string): Promise<number> {
    let count = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: "PK = :pk",
          ExpressionAttributeValues: { ":pk": `QE#${queue}` },
          Select: "COUNT",
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      count += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start);
    return count;
  }

  async claimDedup(
    id: string,
    value: string,
    now: number,
    expiresAt: number,
    replacing?: string,
  ): Promise<string | undefined> {
    const key = { PK: `DD#${id}`, SK: "#DD" };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.table,
            Item: { ...key, value, until: expiresAt, expiresAt: Math.ceil(expiresAt / 1000) + 3600 },
            // TTL deletes late: an expired claim still in the table is taken over.
            ConditionExpression:
              replacing === undefined
                ? "attribute_not_exists(PK) OR #until <= :now"
                : "#value = :replacing AND #until > :now",
            ExpressionAttributeNames: { "#until": "until", ...(replacing === undefined ? {} : { "#value": "value" }) },
            ExpressionAttributeValues: { ":now": now, ...(replacing === undefined ? {} : { ":replacing": replacing }) },
          }),
        );
        return undefined;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
      const held = await this.doc.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }));
      const live = held.Item && Number(held.Item.until) > now ? (held.Item.value as string) : undefined;
      // This very claim, applied by an attempt whose answer was lost (the SDK retried it): it is made.
      // Claim values name the publish's own message ids and time, so no other publish writes the same.
      if (live === value) return undefined;
      if (replacing !== undefined) return live ?? "";
      if (live !== undefined) return live;
    }
    throw new Error(`could not claim deduplication id ${id}`);
  }

  async releaseDedup(id: string, value: string): Promise<void> {
    await this.doc
      .send(
        new DeleteCommand({
          TableName: this.table,
          Key: { PK: `DD#${id}`, SK: "#DD" },
          ConditionExpression: "#value = :value",
          ExpressionAttributeNames: { "#value": "value" },
          ExpressionAttributeValues: { ":value": value },
        }),
      )
      .catch(ignoreConditionFailure);
  }

  // ---- helpers ------------------------------------------------------------------------------------

  /** All items of a query, page by page (index reads are eventually consistent, as logs may be). */
  private async *queryAll(input: Omit<QueryCommandInput, "TableName">): AsyncIterable<Item> {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({ TableName: this.table, ...input, ...(start ? { ExclusiveStartKey: start } : {}) }),
      );
      yield* page.Items ?? [];
      start = page.LastEvaluatedKey;
    } while (start);
  }

  /** Small values inline; large ones in S3 with a reference in the item (the claim-check pattern). */
  private async storeBytes(key: string, bytes: Uint8Array, attribute: string): Promise<Item> {
    if (bytes.byteLength <= INLINE_BODY_BYTES) return bytes.byteLength > 0 ? { [attribute]: bytes } : {};
    await this.blobs.put(key, bytes);
    return { [`${attribute}Ref`]: key };
  }

  private async loadBytes(item: Item, attribute: string): Promise<Uint8Array> {
    const ref = item[`${attribute}Ref`];
    if (typeof ref === "string") return this.blobs.get(ref);
    return toBytes(item[attribute]);
  }
}

function ignoreConditionFailure(error: unknown): void {
  if (!(error instanceof ConditionalCheckFailedException)) throw error;
}

function toBytes(value: unknown): Uint8Array {
  return value instanceof Uint8Array ? value : new Uint8Array(0);
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Deferred log events wait at most this long for the rest of their batch (one page instead of several). */
const EVENT_FLUSH_MS = 100;

/** A page's events are written this soon after they happen, at most (a delivery batch's time, and then some). */
const PAGE_LATENESS_MS = 3_600_000;

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

/**
 * Inclusive sort-key bounds for `<time13>#<key>` keys from the time range and the resume position.
 * An exclusive resume position is included by the bounds and skipped by the caller.
 */
function sortKeyBounds(options: ScanOptions): { lo: string; hi: string } {
  let loTime = options.fromTime ?? 0;
  let hiTime = options.toTime ?? 9_999_999_999_999;
  let lo = `${pad(loTime)}#`;
  let hi = `${pad(hiTime)}#\uffff`;
  const after: ScanPosition | undefined = options.after;
  if (after) {
    if (options.order === "latestFirst") {
      hiTime = Math.min(hiTime, after.time);
      const bound = after.key === undefined ? `${pad(hiTime)}#\uffff` : `${pad(after.time)}#${after.key}`;
      if (bound < hi) hi = bound;
    } else {
      loTime = Math.max(loTime, after.time);
      const bound = after.key === undefined ? `${pad(loTime)}#` : `${pad(after.time)}#${after.key}`;
      if (bound > lo) lo = bound;
    }
  }
  return { lo, hi };
}
