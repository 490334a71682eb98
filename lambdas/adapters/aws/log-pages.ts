// The DynamoDB event log is written in pages: all the events one store call or one delivery batch
// records go into one compressed item, instead of one item (and one index entry) per event. Every
// DynamoDB write is billed per KB of the whole item, so this is most of what a message costs to log.
import { deflateRawSync, inflateRawSync } from "node:zlib";
import type { HeaderMap } from "../../core/headers.ts";
import type { LogEvent, Message } from "../../core/message.ts";

/** Log events keep at most this much of a response body (the DLQ entry keeps it all). */
export const EVENT_RESPONSE_BYTES = 8 * 1024;
/** Uncompressed JSON per page: a DynamoDB item holds at most 400 KB (compression never grows JSON much). */
const PAGE_JSON_BYTES = 300 * 1024;

interface PageEvent {
  t: number;
  m: string;
  s: LogEvent["state"];
  e?: string;
  n?: number;
  /** Response: status, headers, body (base64, clipped). */
  r?: { s: number; h: HeaderMap; b?: string };
}

type PageMessage = Omit<Message, "body"> & { body: string };

interface PageContent {
  e: PageEvent[];
  /** Messages that have no stored record (they travelled with their job), with their first event here. */
  c?: PageMessage[];
}

export interface DecodedPage {
  /** Ordered by time (ties keep the order they were recorded in). */
  events: LogEvent[];
  carried: Map<string, Message>;
}

const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64");
const fromBase64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "base64"));

function toPageEvent(event: LogEvent): PageEvent {
  const out: PageEvent = { t: event.time, m: event.messageId, s: event.state };
  if (event.error !== undefined) out.e = event.error;
  if (event.nextDeliveryTime !== undefined) out.n = event.nextDeliveryTime;
  if (event.response) {
    const body = event.response.body.subarray(0, EVENT_RESPONSE_BYTES);
    out.r = { s: event.response.status, h: event.response.header, ...(body.byteLength ? { b: toBase64(body) } : {}) };
  }
  return out;
}

function fromPageEvent(raw: PageEvent): LogEvent {
  const event: LogEvent = { time: raw.t, messageId: raw.m, state: raw.s };
  if (raw.e !== undefined) event.error = raw.e;
  if (raw.n !== undefined) event.nextDeliveryTime = raw.n;
  if (raw.r)
    event.response = { status: raw.r.s, header: raw.r.h, body: raw.r.b ? fromBase64(raw.r.b) : new Uint8Array() };
  return event;
}

/**
 * Splits events (and the carried messages they belong to) into compressed pages of bounded size. Each
 * carried message goes into the page holding its first event. Pages keep events in time order.
 */
export function encodePages(events: LogEvent[], carried: Message[]): { data: Uint8Array; lastTime: number }[] {
  const byId = new Map(carried.map((m) => [m.messageId, m]));
  const sorted = events.map((event, i) => ({ event, i })).sort((a, b) => a.event.time - b.event.time || a.i - b.i);
  const pages: { content: PageContent; lastTime: number }[] = [];
  let page: PageContent = { e: [] };
  let bytes = 0;
  let lastTime = 0;
  for (const { event } of sorted) {
    const entry = toPageEvent(event);
    const message = byId.get(event.messageId);
    if (message) byId.delete(event.messageId);
    const withMessage = message ? { ...message, body: toBase64(message.body) } : undefined;
    const size = JSON.stringify(entry).length + (withMessage ? JSON.stringify(withMessage).length : 0);
    if (page.e.length > 0 && bytes + size > PAGE_JSON_BYTES) {
      pages.push({ content: page, lastTime });
      page = { e: [] };
      bytes = 0;
    }
    page.e.push(entry);
    if (withMessage) (page.c ??= []).push(withMessage);
    bytes += size;
    lastTime = event.time;
  }
  if (page.e.length > 0) pages.push({ content: page, lastTime });
  return pages.map(({ content, lastTime }) => ({
    data: new Uint8Array(deflateRawSync(JSON.stringify(content))),
    lastTime,
  }));
}

/** A page with no events (a record page whose events went into another page). */
export const EMPTY_PAGE: Uint8Array = new Uint8Array(deflateRawSync(JSON.stringify({ e: [] })));

export function decodePage(data: Uint8Array): DecodedPage {
  const content = JSON.parse(inflateRawSync(data).toString("utf8")) as PageContent;
  const carried = new Map<string, Message>();
  for (const m of content.c ?? []) carried.set(m.messageId, { ...m, body: fromBase64(m.body) });
  return { events: content.e.map(fromPageEvent), carried };
}
