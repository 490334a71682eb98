import type { IncomingHeaders } from "../core/headers.ts";

/** A request as both platforms see it: API Gateway events and node:http requests are turned into this. */
export interface ApiRequest {
  method: string;
  /** Raw path, not decoded and with `//` intact where the platform allows (`/v2/publish/https://x.com/a`). */
  path: string;
  /** Raw query string without the leading `?`. */
  rawQuery: string;
  headers: IncomingHeaders;
  body: Uint8Array;
  sourceIp?: string;
}

export interface ApiResponse {
  status: number;
  /** Serialized as JSON; omitted for an empty body. */
  body?: unknown;
  /** Set by the publishing routes: messages this request accepted, duplicates not counted (metric Published). */
  published?: number;
  /** An answer that is not JSON (the console's files): sent with exactly these headers and bytes. */
  raw?: { headers: Record<string, string>; body: Uint8Array };
}

export const json = (body: unknown, status = 200): ApiResponse => ({ status, body });
export const errorResponse = (status: number, message: string): ApiResponse => ({ status, body: { error: message } });
