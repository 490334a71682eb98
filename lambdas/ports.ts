// The interfaces core needs from the world (DESIGN §2). Each platform (local: SQLite + in-process;
// AWS: DynamoDB + SQS + Scheduler) fills them in; the same contract specs run against both.
import type { HeaderMap } from "./core/headers.ts";
import type { DlqEntry, LogEvent, Message, MessageState, MessageStatus, StoredMessage } from "./core/message.ts";

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
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

export interface Store {
  /** Stores a new message with its first status and events. Returns false (and changes nothing) if the id exists. */
  createMessage(message: Message, status: MessageStatus, events: LogEvent[]): Promise<boolean>;
  getMessage(messageId: string): Promise<StoredMessage | undefined>;
  /** Compare-and-set on the status; appends the events only when the update happened. */
  updateStatus(messageId: string, expected: MessageStatus, next: MessageStatus, events: LogEvent[]): Promise<boolean>;
  appendEvents(events: LogEvent[]): Promise<void>;
  scanEvents(options: ScanOptions & { messageIds?: string[] }): AsyncIterable<Positioned<LoggedEvent>>;
  /** Messages whose status is one of `states`, oldest first, without their bodies (empty). */
  scanMessages(states: readonly MessageState[]): AsyncIterable<StoredMessage>;

  /** Idempotent by dlqId. */
  putDlq(entry: DlqEntry): Promise<void>;
  getDlq(dlqId: string): Promise<DlqEntry | undefined>;
  /** Returns false when there was no such entry. */
  deleteDlq(dlqId: string): Promise<boolean>;
  scanDlq(options: ScanOptions): AsyncIterable<Positioned<DlqEntry>>;
}

/** "Attempt `retried` of message M is due at time T." */
export interface DeliveryJob {
  messageId: string;
  retried: number;
}

export interface Dispatcher {
  /** Durably schedules the job; it runs (at least once) no earlier than `dueAt` (epoch ms). */
  dispatch(job: DeliveryJob, dueAt: number): Promise<void>;
}

export interface SigningKeys {
  current: string;
  next: string;
}

export interface Keys {
  /** Tokens that may call the API. */
  apiTokens(): Promise<string[]>;
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
