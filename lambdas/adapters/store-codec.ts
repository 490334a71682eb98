// How both stores (DynamoDB, SQLite) turn messages, DLQ entries and log events into what they keep, and
// how they read scan bounds: written once so the two cannot drift. Only the storage itself (items,
// rows, S3 references) stays in each store.
import type { HeaderMap } from "../core/headers.ts";
import type { AttemptResponse, DlqEntry, LogEvent, Message } from "../core/message.ts";
import type { ScanOptions } from "../ports.ts";

/** A message without its body: kept as JSON, the body beside it as bytes. */
export type MessageMeta = Omit<Message, "body">;

/** Stored bytes as read back (a missing or empty attribute or column reads as an empty body). */
export const toBytes = (value: unknown): Uint8Array => (value instanceof Uint8Array ? value : new Uint8Array(0));

export function metaOf(message: Message): MessageMeta {
  const { body: _body, ...meta } = message;
  return meta;
}

/** The `meta` a store keeps for a message: its JSON without the body. */
export const encodeMeta = (message: Message): string => JSON.stringify(metaOf(message));

export const decodeMessage = (meta: string, body: unknown): Message => ({
  ...(JSON.parse(meta) as MessageMeta),
  body: toBytes(body),
});

/** A response without its body. */
export interface ResponseHead {
  status: number;
  header: HeaderMap;
}

const withBody = (head: ResponseHead | undefined, body: unknown): AttemptResponse | undefined =>
  head ? { ...head, body: toBytes(body) } : undefined;

/**
 * A DLQ entry as both stores keep it: this record as JSON (the message's meta an object inside it), the
 * message body and the response body beside it as bytes.
 */
export type DlqRecord = Omit<DlqEntry, "message" | "response"> & { meta: MessageMeta; response?: ResponseHead };

export function toDlqRecord(entry: DlqEntry): DlqRecord {
  const { message, response, ...rest } = entry;
  return {
    ...rest,
    meta: metaOf(message),
    ...(response ? { response: { status: response.status, header: response.header } } : {}),
  };
}

export function fromDlqRecord(record: DlqRecord, body: unknown, responseBody: unknown): DlqEntry {
  const { meta, response, ...rest } = record;
  const entry: DlqEntry = { ...rest, message: { ...meta, body: toBytes(body) } };
  const full = withBody(response, responseBody);
  if (full) entry.response = full;
  return entry;
}

/** What a log event says beyond its time, message and state, without the response body (kept as bytes). */
export interface EventDetail {
  error?: string;
  nextDeliveryTime?: number;
  response?: ResponseHead;
}

/** The event's detail, or undefined when it has none. */
export function eventDetail(event: LogEvent): EventDetail | undefined {
  const detail: EventDetail = {};
  if (event.error !== undefined) detail.error = event.error;
  if (event.nextDeliveryTime !== undefined) detail.nextDeliveryTime = event.nextDeliveryTime;
  if (event.response) detail.response = { status: event.response.status, header: event.response.header };
  return Object.keys(detail).length > 0 ? detail : undefined;
}

export function withDetail(event: LogEvent, detail: EventDetail | undefined, responseBody: unknown): LogEvent {
  if (detail?.error !== undefined) event.error = detail.error;
  if (detail?.nextDeliveryTime !== undefined) event.nextDeliveryTime = detail.nextDeliveryTime;
  const response = withBody(detail?.response, responseBody);
  if (response) event.response = response;
  return event;
}

/**
 * A scan's bounds in one form. A resume position whose key the store can read (`parseKey`) is exclusive
 * and stays in `after`; a bare time (the SDK's `cursor = Date.now()`), or a key the store does not know,
 * resumes at that millisecond inclusive, so it narrows `fromTime`/`toTime` instead.
 */
export interface ScanWindow<K> {
  desc: boolean;
  /** Inclusive, epoch ms; undefined: unbounded. */
  fromTime?: number;
  toTime?: number;
  after?: { time: number; key: K };
}

export function scanWindow<K>(options: ScanOptions, parseKey: (key: string) => K | undefined): ScanWindow<K> {
  const desc = options.order === "latestFirst";
  const window: ScanWindow<K> = { desc };
  if (options.fromTime !== undefined) window.fromTime = options.fromTime;
  if (options.toTime !== undefined) window.toTime = options.toTime;
  const after = options.after;
  if (!after) return window;
  const key = after.key === undefined ? undefined : parseKey(after.key);
  if (key !== undefined) window.after = { time: after.time, key };
  else if (desc) window.toTime = Math.min(window.toTime ?? after.time, after.time);
  else window.fromTime = Math.max(window.fromTime ?? after.time, after.time);
  return window;
}
