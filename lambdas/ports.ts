// The interfaces core needs from the world (DESIGN §2). Each platform (local: SQLite + in-process;
// AWS: DynamoDB + SQS + Scheduler) fills them in; the same contract specs run against both.
import type { HeaderMap } from "./core/headers.ts";
import type { DlqEntry, LogEvent, Message, MessageState, MessageStatus, StoredMessage } from "./core/message.ts";

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Waits; a clock without it (a test's) makes core skip its short waits. */
  sleep?(ms: number): Promise<void>;
}

/** Where a scan resumes: items strictly after this position in scan order. `key` breaks ties within a ms. */
export interface ScanPosition {
  time: number;
  key?: string;
}

export interface ScanOptions {
  order: "earliestFirst" | "latestFirst";
  after?: ScanPosition;
  /** Inclusive time bounds, epoch ms. */
  fromTime?: number;
  toTime?: number;
}

export interface Positioned<T> {
  position: ScanPosition;
  item: T;
}

export interface LoggedEvent {
  event: LogEvent;
  /** The message the event belongs to, while it is retained. */
  message?: Message;
}

/**
 * Named resources kept as small JSON records: URL groups, queues, schedules, flow-control keys, and
 * markers of deleted queues that may still hold entries (the sweep finds them there, core/sweep.ts).
 */
export type RecordKind = "urlGroup" | "queue" | "schedule" | "flowControl" | "deletedQueue";

export interface Versioned<T> {
  value: T;
  /** Starts at 1; every successful put adds one (compare-and-set). */
  version: number;
}

/** An unfinished message of a queue, in enqueue order. `parked`: waiting for its turn, no job pending. */
export interface QueueEntry {
  seq: number;
  messageId: string;
  parked: boolean;
  /** When it was last un-parked (given its turn), epoch ms. */
  claimedAt?: number;
}

export interface Store {
  /** Stores a new message with its first status and events. Returns false (and changes nothing) if the id exists. */
  createMessage(message: Message, status: MessageStatus, events: LogEvent[]): Promise<boolean>;
  getMessage(messageId: string): Promise<StoredMessage | undefined>;
  /** Compare-and-set on the status; appends the events only when the update happened. */
  updateStatus(messageId: string, expected: MessageStatus, next: MessageStatus, events: LogEvent[]): Promise<boolean>;
  /**
   * Appends log events. `carried`: messages that have no stored record (they travelled inside their
   * delivery job, see Dispatcher.carriesMessages) — the log keeps them so its entries can show them.
   */
  appendEvents(events: LogEvent[], carried?: Message[]): Promise<void>;
  scanEvents(options: ScanOptions & { messageIds?: string[] }): AsyncIterable<Positioned<LoggedEvent>>;
  /** Messages whose status is one of `states`, oldest first, without their bodies (empty). */
  scanMessages(states: readonly MessageState[]): AsyncIterable<StoredMessage>;

  /** Idempotent by dlqId. */
  putDlq(entry: DlqEntry): Promise<void>;
  getDlq(dlqId: string): Promise<DlqEntry | undefined>;
  /** Returns false when there was no such entry. */
  deleteDlq(dlqId: string): Promise<boolean>;
  scanDlq(options: ScanOptions): AsyncIterable<Positioned<DlqEntry>>;

  getRecord<T>(kind: RecordKind, name: string): Promise<Versioned<T> | undefined>;
  /** Writes when the stored version is `expectedVersion` (undefined: only when absent). False on conflict. */
  putRecord<T>(kind: RecordKind, name: string, value: T, expectedVersion: number | undefined): Promise<boolean>;
  /** Deletes (only when the stored version is `expectedVersion`, if given); false when nothing was deleted. */
  deleteRecord(kind: RecordKind, name: string, expectedVersion?: number): Promise<boolean>;
  /** Every record of a kind, ordered by name. */
  listRecords<T>(kind: RecordKind): Promise<T[]>;

  /** Atomically adds one to a named counter and returns the new value (the first call returns 1). */
  increment(counter: string): Promise<number>;

  /** Adds a parked entry unless one with this seq exists. */
  putQueueEntry(queue: string, entry: Pick<QueueEntry, "seq" | "messageId">): Promise<void>;
  /** The first `limit` entries of a queue by seq, read consistently. */
  headQueueEntries(queue: string, limit: number): Promise<QueueEntry[]>;
  /**
   * Compare-and-set of an entry's parked flag; false when it was not `!parked` or is gone. Un-parking
   * records `now` as the entry's claimedAt.
   */
  setQueueEntryParked(queue: string, seq: number, parked: boolean, now: number): Promise<boolean>;
  /** Compare-and-set of an un-parked entry's claimedAt from `claimedAt` to `now` (a turn given again). */
  reclaimQueueEntry(queue: string, seq: number, claimedAt: number, now: number): Promise<boolean>;
  deleteQueueEntry(queue: string, seq: number): Promise<void>;
  countQueueEntries(queue: string): Promise<number>;

  /**
   * Claims a deduplication id until `expiresAt` (epoch ms) with `value`. Returns undefined when the claim
   * was made, or the value of the claim that holds the id and is still live at `now`. With `replacing`,
   * the claim is made only over a live claim holding exactly that value (a compare-and-set).
   */
  claimDedup(
    id: string,
    value: string,
    now: number,
    expiresAt: number,
    replacing?: string,
  ): Promise<string | undefined>;
  /** Drops the claim if it still holds `value`. */
  releaseDedup(id: string, value: string): Promise<void>;
}

/** Recurring triggers of schedules (local timers; EventBridge Scheduler on AWS). */
export interface CronTrigger {
  /** Creates or replaces the trigger; each firing calls core's fireSchedule with the schedule id. */
  upsert(scheduleId: string, cron: string, paused: boolean): Promise<void>;
  remove(scheduleId: string): Promise<void>;
}

/** "Attempt `retried` of message M is due at time T." */
export interface DeliveryJob {
  messageId: string;
  retried: number;
  /** The whole message, when it travels with its job instead of being stored (first attempts only). */
  message?: Message;
}

export interface Dispatcher {
  /**
   * True when a job can carry its message (SQS: the job is the message while it is in flight). Core then
   * stores no record for a message that nothing needs to look up before its first attempt ends: no delay,
   * no queue, no flow control, no deduplication, not from a schedule, small body. On AWS this saves the
   * per-message DynamoDB writes (DESIGN §3, "Cost is a feature").
   */
  readonly carriesMessages?: boolean;
  /** Durably schedules the job; it runs (at least once) no earlier than `dueAt` (epoch ms). */
  dispatch(job: DeliveryJob, dueAt: number): Promise<void>;
}

export interface SigningKeys {
  current: string;
  next: string;
}

/** "write" tokens may call every route; "read" tokens (QStash's read-only tokens) only the reading ones. */
export type Access = "read" | "write";

export interface ApiToken {
  value: string;
  access: Access;
}

export interface Keys {
  /** Tokens that may call the API: the deployment's token and its read-only token. */
  apiTokens(): Promise<ApiToken[]>;
  signingKeys(): Promise<SigningKeys>;
  /** next becomes current; a fresh key becomes next. */
  rotateSigningKeys(): Promise<SigningKeys>;
}

export interface OutgoingRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: Uint8Array;
  timeoutMs: number;
}

export type SendOutcome =
  { kind: "response"; status: number; header: HeaderMap; body: Uint8Array } | { kind: "error"; error: string };

export interface HttpSender {
  /** One request, redirects not followed, never throws: transport failures come back as `error`. */
  send(request: OutgoingRequest): Promise<SendOutcome>;
}
