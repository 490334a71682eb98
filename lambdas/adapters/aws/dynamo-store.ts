import { deflateRawSync, inflateRawSync } from "node:zlib";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { DlqEntry, LogEvent, Message, MessageState, MessageStatus, StoredMessage } from "../../core/message.ts";
import { WORKFLOW_STEP_HORIZON_MS } from "../../core/workflow.ts";
import type {
  DedupClaims,
  LoggedEvent,
  Positioned,
  QueueEntries,
  RecordKind,
  RecordPutOptions,
  RecordSwap,
  ScanOptions,
  Store,
  Versioned,
  WorkflowSteps,
} from "../../ports.ts";
import { messageIdTime } from "../../core/ids.ts";
import { mergeSorted } from "../merge-sorted.ts";
import {
  encodeMeta,
  fromDlqRecord,
  scanWindow,
  toBytes,
  toDlqRecord,
  type DlqRecord,
  type MessageMeta,
} from "../store-codec.ts";
import { DynamoDedupClaims } from "./dynamo-dedup-claims.ts";
import { DynamoEventLog, recordPageKey } from "./dynamo-event-log.ts";
import { DynamoQueueEntries } from "./dynamo-queue-entries.ts";
import { DynamoWorkflowSteps } from "./dynamo-workflow-steps.ts";
import {
  compare,
  conditionalWrite,
  DynamoTable,
  pad,
  shardOf,
  type Conditional,
  type Item,
  type Key,
  ownWrite,
  writeToken,
} from "./dynamo-table.ts";
import type { BlobStore } from "./s3-blob-store.ts";
import { partitionedStatusKey, STATUS_PARTITIONED, statusPartitions } from "./status-partitions.ts";
import { GSI_LISTS, SHARDS } from "./table-schema.ts";

const MESSAGE_SK = "#M";
const STATUS_SK = "#S";
const DLQ_SK = "#D";
const INDEXED_STATES: readonly MessageState[] = ["CREATED", "RETRY", "CANCEL_REQUESTED"];
/** How long a light record's status item may be needed: its message item expires first. */
/**
 * A flush that could write neither the log page nor the statuses of the light records' ends it held
 * (flushEvents): those messages' jobs must be given again, or they would read as pending for good.
 */
export class EndsNotRecorded extends Error {
  readonly messageIds: string[];
  constructor(messageIds: string[], cause: unknown) {
    super(`the ends of ${messageIds.length} message(s) could not be recorded`, { cause });
    this.name = "EndsNotRecorded";
    this.messageIds = messageIds;
  }
}

const LIGHT_STATUS_HORIZON_MS = 400 * 86_400_000;
/** Bodies above this go to S3 (an item holds at most 400 KB, attributes and indexes included). */
const INLINE_BODY_BYTES = 100 * 1024;
/**
 * Bodies up to this size make the message item a record page (createMessage); larger ones a `#M` item.
 * A 4 KiB body is a few write units in the log's partitions, where its log page alone was one.
 */
const RECORD_PAGE_BODY_BYTES = 4 * 1024;
/** Index hits read in one BatchGetItem while listing messages. */
const LIST_BATCH = 100;

async function* map<T>(items: AsyncIterable<Item>, f: (item: Item) => T): AsyncIterable<T> {
  for await (const item of items) yield f(item);
}

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
 * Messages, the DLQ and records are here; the event log, queue entries and deduplication claims are in
 * files of their own (dynamo-event-log.ts, dynamo-queue-entries.ts, dynamo-dedup-claims.ts).
 */
export class DynamoStore implements Store {
  /** An unlisted message is one item, its status implicit until it changes (MessageStore.lightRecords). */
  readonly lightRecords = true;
  private readonly table: DynamoTable;
  private readonly doc: DynamoTable["doc"];
  private readonly blobs: BlobStore;
  private readonly retentionMs: number;
  private readonly now: () => number;
  private readonly log: DynamoEventLog;
  // Counters and queue entries (dynamo-queue-entries.ts), deduplication claims (dynamo-dedup-claims.ts).
  readonly increment: QueueEntries["increment"];
  readonly putQueueEntry: QueueEntries["putQueueEntry"];
  readonly headQueueEntries: QueueEntries["headQueueEntries"];
  readonly setQueueEntryParked: QueueEntries["setQueueEntryParked"];
  readonly reclaimQueueEntry: QueueEntries["reclaimQueueEntry"];
  readonly deleteQueueEntry: QueueEntries["deleteQueueEntry"];
  readonly countQueueEntries: QueueEntries["countQueueEntries"];
  readonly claimDedup: DedupClaims["claimDedup"];
  readonly appendStep: WorkflowSteps["appendStep"];
  readonly listSteps: WorkflowSteps["listSteps"];

  constructor(options: DynamoStoreOptions) {
    this.table = new DynamoTable(options.client, options.tableName);
    this.doc = this.table.doc;
    this.blobs = options.blobs;
    this.retentionMs = options.retentionMs;
    this.now = options.now ?? Date.now;
    this.log = new DynamoEventLog({
      table: this.table,
      retentionMs: options.retentionMs,
      now: this.now,
      defer: options.deferEvents === true,
      getMessage: async (messageId) => (await this.getMessage(messageId))?.message,
      recordOf: async (page) => (page.mz || page.meta ? this.messageOfItem(page) : undefined),
    });
    const queues = new DynamoQueueEntries(this.table);
    this.increment = queues.increment.bind(queues);
    this.putQueueEntry = queues.putQueueEntry.bind(queues);
    this.headQueueEntries = queues.headQueueEntries.bind(queues);
    this.setQueueEntryParked = queues.setQueueEntryParked.bind(queues);
    this.reclaimQueueEntry = queues.reclaimQueueEntry.bind(queues);
    this.deleteQueueEntry = queues.deleteQueueEntry.bind(queues);
    this.countQueueEntries = queues.countQueueEntries.bind(queues);
    const dedup = new DynamoDedupClaims(this.table);
    this.claimDedup = dedup.claimDedup.bind(dedup);
    const steps = new DynamoWorkflowSteps({
      table: this.table,
      // A run may sleep or wait for a year (the longest delay): its steps stay that long, plus the retention.
      expiresAt: (createdAt) => this.expiresAt(createdAt + WORKFLOW_STEP_HORIZON_MS),
      getMessage: async (messageId) => (await this.getMessage(messageId))?.message,
    });
    this.appendStep = steps.appendStep.bind(steps);
    this.listSteps = steps.listSteps.bind(steps);
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
    // Message first, status second: the status item is the commit point that makes the message exist.
    // Both are put only if absent: a repeated create (a derived callback id after a crash) changes nothing.
    // A light record (unlisted, first status) is the message alone: its status is implicit.
    // A publish-shaped id keeps its status in a status partition (status-partitions.ts); the message
    // item says so, for readers that meet a message written before.
    const statusKey = partitionedStatusKey(message.messageId);
    const messageItem = {
      PK: pk,
      SK: MESSAGE_SK,
      ...(await this.messageAttributes(message)),
      ...(statusKey ? { [STATUS_PARTITIONED]: 1 } : {}),
      expiresAt: this.expiresAt(horizon),
    };
    const light = message.unlisted === true && status.state === "CREATED" && status.retried === 0;
    // Where the id gives a record page (recordPageKey), the message item is that log page: the message
    // and its first events in one item, where a message item and the request's log page were two writes.
    // Only for small bodies: record pages share the log's few partitions (about 1,000 write units a
    // second each), which a stream of large items would exhaust; a message item has a partition of its own.
    const record =
      message.body.byteLength <= RECORD_PAGE_BODY_BYTES ? this.log.recordPage(message.messageId, events) : undefined;
    const messagePut = await this.table.putIfAbsentOrOld(record ? { ...messageItem, ...record.page } : messageItem);
    // Created again over a message item written before status partitions (a firing or a retry processed
    // once before an upgrade, again after it): its status is where that item says.
    const partitioned =
      statusKey !== undefined && (messagePut.made || messagePut.old?.[STATUS_PARTITIONED] !== undefined);
    const created = light
      ? messagePut.made
      : await this.table.putIfAbsent({
          ...(partitioned ? statusKey : { PK: pk, SK: STATUS_SK }),
          ...this.statusAttributes(message.messageId, message.createdAt, status, horizon, !partitioned),
        });
    if (!created) return false;
    if (!record?.held) await this.appendEvents(events);
    return true;
  }

  /**
   * A status item's attributes. A pending status expires past the latest its message could finish, a
   * final one with the retention. `indexed`: a status under M#<id> / #S, whose pending states are listed
   * in the index (a status partition is its own list).
   */
  private statusAttributes(
    messageId: string,
    createdAt: number,
    status: MessageStatus,
    horizon: number,
    indexed: boolean,
  ): Item {
    const pending = INDEXED_STATES.includes(status.state);
    return {
      state: status.state,
      retried: status.retried,
      createdAt,
      ...(indexed && pending
        ? { g2pk: `S#${status.state}#${shardOf(messageId)}`, g2sk: `${pad(createdAt)}#${messageId}` }
        : {}),
      expiresAt: this.expiresAt(pending ? horizon : this.now()),
    };
  }

  async getMessage(messageId: string): Promise<StoredMessage | undefined> {
    const { messageItem, statusItem } = await this.readMessageItems(messageId);
    if (!messageItem) return undefined;
    const message = await this.messageOfItem(messageItem);
    if (!statusItem && !message.unlisted) return undefined; // not committed: its create died in between
    return {
      message,
      status: statusItem
        ? { state: statusItem.state as MessageState, retried: Number(statusItem.retried) }
        : { state: "CREATED", retried: 0, implicit: true },
    };
  }

  /**
   * A message's item (or record page) and its status item. A publish-shaped id's status is read from its
   * status partition beside its record page: two reads, as before (a query of M#<id> read the status, the
   * message being in the page). A body over 4 KiB has no page: its miss is followed by the query of
   * M#<id>, three reads where one query was (about 1.5 read units more). A message item or page without
   * the STATUS_PARTITIONED mark was written before status partitions: its status is the one under M#<id>,
   * unless a later change wrote it to the partition (updateStatus).
   */
  private async readMessageItems(messageId: string): Promise<{ messageItem?: Item; statusItem?: Item }> {
    const statusKey = partitionedStatusKey(messageId);
    const pageKey = recordPageKey(messageId);
    if (!statusKey || !pageKey) return this.queryMessageItems(messageId);
    const [partitioned, page] = await Promise.all([this.getItem(statusKey, true), this.getItem(pageKey, false)]);
    if (page?.[STATUS_PARTITIONED]) return { messageItem: page, statusItem: partitioned };
    // No page seen (a body over 4 KiB has a message item; or the replica read has not seen the page yet),
    // or a page written before status partitions: the rest is under M#<id>.
    const items = await this.queryMessageItems(messageId);
    const messageItem = page ?? items.messageItem ?? (await this.getItem(pageKey, true));
    if (messageItem?.[STATUS_PARTITIONED]) return { messageItem, statusItem: partitioned };
    return { messageItem, statusItem: partitioned ?? items.statusItem };
  }

  /** The message item and the status under M#<id>: one query reads both (their sort keys sort before the events). */
  private async queryMessageItems(messageId: string): Promise<{ messageItem?: Item; statusItem?: Item }> {
    const result = await this.doc.send(
      new QueryCommand({
        TableName: this.table.name,
        KeyConditionExpression: "PK = :pk AND SK < :events",
        ExpressionAttributeValues: { ":pk": `M#${messageId}`, ":events": "E" },
        ConsistentRead: true,
      }),
    );
    const items = result.Items ?? [];
    return {
      messageItem: items.find((i) => i.SK === MESSAGE_SK),
      statusItem: items.find((i) => i.SK === STATUS_SK),
    };
  }

  /**
   * One item. A record page (recordPageKey) is written once and never changed, so an eventually
   * consistent read (half a read unit) finds it as written or misses it; only a miss — a write the
   * replica read has not seen yet, or no page — is read again consistently (DynamoDB Developer Guide,
   * "Read consistency").
   */
  private async getItem(key: Key, consistent: boolean): Promise<Item | undefined> {
    const result = await this.doc.send(
      new GetCommand({ TableName: this.table.name, Key: key, ConsistentRead: consistent }),
    );
    return result.Item;
  }

  /** The message a message item (or a record page) holds: its meta and its body. */
  private async messageOfItem(item: Item): Promise<Message> {
    const body = item.bz ? new Uint8Array(inflateRawSync(toBytes(item.bz))) : await this.loadBytes(item, "body");
    return { ...metaOfItem(item), body };
  }

  /**
   * A message item's meta and body, each deflated when that is smaller (a write is billed per started KB
   * of the item, in its index entries too); bodies over 100 KiB go to S3.
   */
  private async messageAttributes(message: Message): Promise<Item> {
    const meta = encodeMeta(message);
    const mz = deflateRawSync(meta);
    const attributes: Item = mz.byteLength < Buffer.byteLength(meta) ? { mz: new Uint8Array(mz) } : { meta };
    if (message.body.byteLength > 0 && message.body.byteLength <= INLINE_BODY_BYTES) {
      const bz = deflateRawSync(message.body);
      if (bz.byteLength < message.body.byteLength) return { ...attributes, bz: new Uint8Array(bz) };
    }
    return { ...attributes, ...(await this.storeBytes(`bodies/${message.messageId}`, message.body, "body")) };
  }

  async updateStatus(messageId: string, expected: MessageStatus, next: MessageStatus, events: LogEvent[]) {
    const statusKey = partitionedStatusKey(messageId);
    const legacyKey = { PK: `M#${messageId}`, SK: STATUS_SK };
    const now = this.now();
    // Each status write carries a token (writeToken): without it a cancel whose answer was lost answered
    // 404, and an attempt's settle so applied logged nothing.
    const token = writeToken();
    let written: boolean;
    if (expected.implicit) {
      // A light record's first status change writes its status item, if no other change did first. A
      // pending state is listed from now on (bulk cancel); a final one expires with the retention. It
      // outlives the message item, whose own expiry bounds the record (set at its creation). A cancel
      // request ends when the job comes (SQS keeps it 4 days), or stays when it met a successful first
      // attempt: then it need not stay listed.
      const horizon =
        now + (next.state === "CANCEL_REQUESTED" ? 4 * 86_400_000 : LIGHT_STATUS_HORIZON_MS) + this.retentionMs;
      const put = await this.table.putIfAbsentOrOld({
        ...(statusKey ?? legacyKey),
        ...this.statusAttributes(messageId, now, next, horizon, !statusKey),
        w: token,
      });
      written = ownWrite(put, "w", token);
    } else {
      // In its status partition; a message written before them has its status under M#<id> (the failed
      // condition on an absent item costs a write unit, for those messages only).
      const ours = (outcome: Conditional<unknown>): boolean => ownWrite(outcome, "w", token);
      const partitioned = statusKey
        ? await this.setStatus(messageId, statusKey, expected, next, now, false, token)
        : undefined;
      written = partitioned ? ours(partitioned) : false;
      if (!partitioned || (!partitioned.made && !partitioned.old)) {
        written = ours(await this.setStatus(messageId, legacyKey, expected, next, now, true, token));
      }
    }
    if (!written) return false;
    await this.appendEvents(events);
    return true;
  }

  /**
   * The compare-and-set of a status item. `indexed`: a status under M#<id>, whose pending states are in
   * the index. A status leaving the pending states expires with the retention from now.
   */
  private setStatus(
    messageId: string,
    key: Key,
    expected: MessageStatus,
    next: MessageStatus,
    now: number,
    indexed: boolean,
    token: string,
  ) {
    const pending = INDEXED_STATES.includes(next.state);
    const update = pending
      ? indexed
        ? "SET #state = :state, retried = :retried, w = :w, g2pk = :g2pk, g2sk = if_not_exists(g2sk, :g2sk)"
        : "SET #state = :state, retried = :retried, w = :w"
      : `SET #state = :state, retried = :retried, w = :w, expiresAt = :expiresAt${indexed ? " REMOVE g2pk, g2sk" : ""}`;
    return conditionalWrite(
      this.doc.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: key,
          ConditionExpression: "#state = :expectedState AND retried = :expectedRetried",
          UpdateExpression: update,
          ExpressionAttributeNames: { "#state": "state" },
          ExpressionAttributeValues: {
            ":expectedState": expected.state,
            ":expectedRetried": expected.retried,
            ":state": next.state,
            ":retried": next.retried,
            ":w": token,
            ...(pending
              ? indexed
                ? { ":g2pk": `S#${next.state}#${shardOf(messageId)}`, ":g2sk": `${pad(now)}#${messageId}` }
                : {}
              : { ":expiresAt": this.expiresAt(now) }),
          },
          // Tells a failed condition from an absent item (a status written before status partitions), and
          // this write, applied with its answer lost, from another's (no read unit is billed for it).
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      ),
    );
  }

  /**
   * Pending messages, oldest first: the status partitions (read whole, final statuses filtered out) merged
   * with the index's lists of statuses written before them.
   */
  async *scanMessages(states: readonly MessageState[]): AsyncIterable<StoredMessage> {
    for (const state of states) {
      if (!INDEXED_STATES.includes(state)) throw new Error(`messages in state ${state} are not listed`);
    }
    type Hit = { messageId: string; order: string; state: MessageState; retried: number };
    const hitOf = (item: Item, messageId: string, order: string): Hit => ({
      messageId,
      order,
      state: item.state as MessageState,
      retried: Number(item.retried),
    });
    const partitions = statusPartitions().map((pk) =>
      map(
        this.table.queryAll({
          KeyConditionExpression: "PK = :pk",
          FilterExpression: `#state IN (${states.map((_, i) => `:s${i}`).join(", ")})`,
          ExpressionAttributeNames: { "#state": "state" },
          ExpressionAttributeValues: { ":pk": pk, ...Object.fromEntries(states.map((state, i) => [`:s${i}`, state])) },
        }),
        // An id starts with its creation time: the partition's order, as `<time13>#<id>` like the index's.
        (item) => hitOf(item, item.SK as string, `${pad(messageIdTime(item.SK as string) ?? 0)}#${item.SK}`),
      ),
    );
    const indexed = states.flatMap((state) =>
      Array.from({ length: SHARDS }, (_, shard) =>
        map(
          this.table.queryAll({
            IndexName: GSI_LISTS.indexName,
            KeyConditionExpression: "g2pk = :pk",
            ExpressionAttributeValues: { ":pk": `S#${state}#${shard}` },
          }),
          (item) => hitOf(item, (item.PK as string).slice(2), item.g2sk as string),
        ),
      ),
    );
    let hits: Hit[] = [];
    const listed = async function* (this: DynamoStore): AsyncIterable<StoredMessage> {
      // Bodies are not needed to list (and may be in S3): only the meta of each hit's message is read, from
      // its record page where its id may have one, else (or when it has none) from its message item.
      // Read eventually consistently first (pages never change); a miss is read again consistently, with
      // the message item a body over 4 KiB has instead: a status seen by the (eventually consistent)
      // partition query does not make its page, written before it, visible to an eventually consistent read.
      const messageKey = (id: string): Key => ({ PK: `M#${id}`, SK: MESSAGE_SK });
      const first = hits.map((hit) => recordPageKey(hit.messageId) ?? messageKey(hit.messageId));
      const messages = await this.table.batchGet(first, "meta, mz");
      const missing = hits.flatMap((hit, i) => {
        const tried = first[i] as Key;
        if (messages[i]) return [];
        return [{ i, keys: tried.SK === MESSAGE_SK ? [tried] : [tried, messageKey(hit.messageId)] }];
      });
      const items = await this.table.batchGet(
        missing.flatMap(({ keys }) => keys),
        "meta, mz",
        undefined,
        true,
      );
      let at = 0;
      for (const { i, keys } of missing) {
        messages[i] = items.slice(at, at + keys.length).find((item) => item !== undefined);
        at += keys.length;
      }
      for (const [i, hit] of hits.entries()) {
        const item = messages[i];
        if (!item || !states.includes(hit.state)) continue;
        yield {
          message: { ...metaOfItem(item), body: new Uint8Array(0) },
          status: { state: hit.state, retried: hit.retried },
        };
      }
      hits = [];
    };
    for await (const hit of mergeSorted([...partitions, ...indexed], (a, b) => compare(a.order, b.order))) {
      hits.push(hit);
      if (hits.length === LIST_BATCH) yield* listed.call(this);
    }
    yield* listed.call(this);
  }

  // ---- events (dynamo-event-log.ts) -------------------------------------------------------------

  appendEvents(events: LogEvent[], carried: Message[] = [], ends: string[] = []): Promise<void> {
    return this.log.appendEvents(events, carried, ends);
  }

  /**
   * With `deferEvents`, writes the events appended since the last flush, as few pages as they fit in.
   * The Lambda handlers call it before they return (before SQS deletes the batch that made them). A page
   * that cannot be written stays for the next flush; but a light record's end (appendEvents' `ends`) is in
   * no other item, and the container may never flush again: it reads as pending, and is never attempted
   * again. So its status is written instead (the write the light record saved); where that fails too, the
   * flush fails with EndsNotRecorded, and the handler has SQS give those jobs again.
   */
  async flushEvents(): Promise<void> {
    try {
      await this.log.flushEvents();
    } catch (error) {
      const ends = this.log.takeEnds();
      const unrecorded: string[] = [];
      for (const messageId of ends) {
        const implicit: MessageStatus = { state: "CREATED", retried: 0, implicit: true };
        // Not written: another status stands (a cancel that met the attempt), which is not pending either.
        await this.updateStatus(messageId, implicit, { state: "DELIVERED", retried: 0 }, []).catch(() =>
          unrecorded.push(messageId),
        );
      }
      throw unrecorded.length > 0 ? new EndsNotRecorded(unrecorded, error) : error;
    }
  }

  scanEvents(options: ScanOptions & { messageIds?: string[] }): AsyncIterable<Positioned<LoggedEvent>> {
    return this.log.scanEvents(options);
  }

  // ---- DLQ ----------------------------------------------------------------------------------------

  async putDlq(entry: DlqEntry): Promise<void> {
    const { message, response } = entry;
    await this.table.putIfAbsent({
      PK: `D#${entry.dlqId}`,
      SK: DLQ_SK,
      entry: JSON.stringify(toDlqRecord(entry)),
      ...(await this.storeBytes(`bodies/${message.messageId}`, message.body, "body")),
      ...(response ? await this.storeBytes(`responses/${entry.dlqId}`, response.body, "responseBody") : {}),
      g2pk: `DLQ#${shardOf(entry.dlqId)}`,
      g2sk: `${pad(entry.failedAt)}#${entry.dlqId}`,
      expiresAt: this.expiresAt(entry.failedAt),
    });
  }

  private async toDlqEntry(item: Item): Promise<DlqEntry> {
    const record = JSON.parse(item.entry as string) as DlqRecord;
    const responseBody = record.response ? await this.loadBytes(item, "responseBody") : undefined;
    return fromDlqRecord(record, await this.loadBytes(item, "body"), responseBody);
  }

  async getDlq(dlqId: string): Promise<DlqEntry | undefined> {
    const result = await this.doc.send(
      new GetCommand({ TableName: this.table.name, Key: { PK: `D#${dlqId}`, SK: DLQ_SK }, ConsistentRead: true }),
    );
    return result.Item ? this.toDlqEntry(result.Item) : undefined;
  }

  async deleteDlq(dlqId: string): Promise<boolean> {
    const result = await this.doc.send(
      new DeleteCommand({
        TableName: this.table.name,
        Key: { PK: `D#${dlqId}`, SK: DLQ_SK },
        ReturnValues: "ALL_OLD",
      }),
    );
    return result.Attributes !== undefined;
  }

  async *scanDlq(options: ScanOptions): AsyncIterable<Positioned<DlqEntry>> {
    for await (const item of this.scanShards("DLQ#", options)) {
      const entry = await this.toDlqEntry(item);
      yield { position: { time: entry.failedAt, key: entry.dlqId }, item: entry };
    }
  }

  /**
   * The GSI items under `<prefix><shard>` for every shard, merged in `<time13>#<key>` order within the
   * scan's window, the resume position itself skipped (the DLQ, workflow runs).
   */
  private async *scanShards(prefix: string, options: ScanOptions): AsyncIterable<Item> {
    const desc = options.order === "latestFirst";
    const bounds = sortKeyBounds(options);
    if (!bounds) return;
    const { lo, hi } = bounds;
    const shards = Array.from({ length: SHARDS }, (_, shard) =>
      this.table.queryAll({
        IndexName: GSI_LISTS.indexName,
        KeyConditionExpression: "g2pk = :pk AND g2sk BETWEEN :lo AND :hi",
        ExpressionAttributeValues: { ":pk": `${prefix}${shard}`, ":lo": lo, ":hi": hi },
        ScanIndexForward: !desc,
        Limit: SCAN_PAGE,
      }),
    );
    const cmp = (a: Item, b: Item): number => (desc ? -1 : 1) * compare(a.g2sk as string, b.g2sk as string);
    const resumeAt = options.after?.key !== undefined ? `${pad(options.after.time)}#${options.after.key}` : undefined;
    for await (const item of mergeSorted(shards, cmp)) if (item.g2sk !== resumeAt) yield item;
  }

  // ---- records ------------------------------------------------------------------------------------
  // R#<kind> / <name>       a URL group, queue, schedule, flow-control key or deleted-queue marker: JSON + version v

  async getRecord<T>(kind: RecordKind, name: string): Promise<Versioned<T> | undefined> {
    const result = await this.doc.send(
      new GetCommand({ TableName: this.table.name, Key: { PK: `R#${kind}`, SK: name }, ConsistentRead: true }),
    );
    const item = result.Item;
    return item ? recordOf<T>(item.value, item.v) : undefined;
  }

  async swapRecord<T>(
    kind: RecordKind,
    name: string,
    value: T,
    expectedVersion: number | undefined,
    options: RecordPutOptions = {},
  ): Promise<RecordSwap<T>> {
    const { expiresAt, listedAt } = options;
    // A token of this write's own (writeToken): otherwise, when its answer is lost, the caller
    // (updateRecord) applies its changes again over its own write: a flow-control slot taken twice.
    const token = writeToken();
    const outcome = await conditionalWrite(
      this.doc.send(
        new PutCommand({
          TableName: this.table.name,
          Item: {
            PK: `R#${kind}`,
            SK: name,
            v: (expectedVersion ?? 0) + 1,
            w: token,
            value: JSON.stringify(value),
            ...(expiresAt === undefined ? {} : { expiresAt: Math.ceil(expiresAt / 1000) }),
            ...(listedAt === undefined
              ? {}
              : { g2pk: `RL#${kind}#${shardOf(name)}`, g2sk: `${pad(listedAt)}#${name}` }),
          },
          ...(expectedVersion === undefined
            ? { ConditionExpression: "attribute_not_exists(PK)" }
            : { ConditionExpression: "v = :v", ExpressionAttributeValues: { ":v": expectedVersion } }),
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      ),
    );
    if (ownWrite(outcome, "w", token)) return { written: true };
    // The item the condition met came back with the failure (ALL_OLD): the caller's next try starts from
    // it instead of a second read (a strongly consistent read unit a conflict).
    const old = outcome.made ? undefined : outcome.old;
    return { written: false, current: old?.value?.S === undefined ? undefined : recordOf<T>(old.value.S, old.v?.N) };
  }

  async deleteRecord(kind: RecordKind, name: string, expectedVersion?: number): Promise<boolean> {
    const outcome = await conditionalWrite(
      this.doc.send(
        new DeleteCommand({
          TableName: this.table.name,
          Key: { PK: `R#${kind}`, SK: name },
          ReturnValues: "ALL_OLD",
          ...(expectedVersion === undefined
            ? {}
            : { ConditionExpression: "v = :v", ExpressionAttributeValues: { ":v": expectedVersion } }),
        }),
      ),
    );
    return outcome.made && outcome.result.Attributes !== undefined;
  }

  async listRecords<T>(kind: RecordKind, prefix?: string): Promise<T[]> {
    const values: T[] = [];
    const items = this.table.queryAll({
      KeyConditionExpression: prefix ? "PK = :pk AND begins_with(SK, :prefix)" : "PK = :pk",
      ExpressionAttributeValues: { ":pk": `R#${kind}`, ...(prefix ? { ":prefix": prefix } : {}) },
      ConsistentRead: true,
    });
    for await (const item of items) values.push(JSON.parse(item.value as string) as T);
    return values;
  }

  async *scanRecords<T>(kind: RecordKind, options: ScanOptions): AsyncIterable<Positioned<T>> {
    for await (const item of this.scanShards(`RL#${kind}#`, options)) {
      const sortKey = item.g2sk as string;
      const time = Number(sortKey.slice(0, sortKey.indexOf("#")));
      yield { position: { time, key: item.SK as string }, item: JSON.parse(item.value as string) as T };
    }
  }

  // ---- bodies -------------------------------------------------------------------------------------

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

/** A message item's meta: JSON, or deflated JSON in a light record (`mz`). */
function metaOfItem(item: Item): MessageMeta {
  const json = item.mz ? inflateRawSync(toBytes(item.mz)).toString("utf8") : (item.meta as string);
  return JSON.parse(json) as MessageMeta;
}

/**
 * Items a shard's query reads per page in the merged scans (DLQ, runs): a page of 10 reads about that many
 * from each shard, where an unlimited query reads up to 1 MB.
 */
const SCAN_PAGE = 25;
const MAX_SORT_TIME = 9_999_999_999_999; // the largest time a 13-digit key holds
const clampTime = (time: number): number => Math.min(Math.max(Math.trunc(time), 0), MAX_SORT_TIME);

/**
 * Inclusive sort-key bounds for `<time13>#<key>` keys from the time range and the resume position, or
 * undefined when the range is empty (DynamoDB refuses BETWEEN with its bounds reversed). Times are clamped
 * to what a 13-digit key holds: a negative or 15-digit date must not sort among today's keys.
 * An exclusive resume position is included by the bounds and skipped by the caller.
 */
function sortKeyBounds(options: ScanOptions): { lo: string; hi: string } | undefined {
  const { desc, after, fromTime = 0, toTime = MAX_SORT_TIME } = scanWindow(options, (key) => key);
  let lo = `${pad(clampTime(fromTime))}#`;
  let hi = `${pad(clampTime(toTime))}#\uffff`;
  const bound = after && `${pad(clampTime(after.time))}#${after.key}`;
  if (bound !== undefined && desc && bound < hi) hi = bound;
  if (bound !== undefined && !desc && bound > lo) lo = bound;
  return lo <= hi ? { lo, hi } : undefined;
}

/** A record item's JSON value and version (`v`), as read or as returned with a failed write (a number's text). */
function recordOf<T>(value: unknown, version: unknown): Versioned<T> {
  return { value: JSON.parse(value as string) as T, version: Number(version) };
}
