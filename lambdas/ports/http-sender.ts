import type { HeaderMap } from "../core/headers.ts";

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
