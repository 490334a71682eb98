import type { HeraldConfig } from "./config.ts";
import { flattenHeaders } from "./headers.ts";
import type { Message } from "./message.ts";
import type { OutgoingRequest } from "../ports.ts";

export const USER_AGENT = "Upstash-QStash";

/** The request a destination receives for one attempt (docs/qstash-api.md §20). */
export function buildDeliveryRequest(
  message: Message,
  retried: number,
  signature: string,
  config: HeraldConfig,
): OutgoingRequest {
  const headers = flattenHeaders(message.header);
  // Herald's own headers win over forwarded ones of the same name.
  headers["User-Agent"] = USER_AGENT;
  headers["Upstash-Message-Id"] = message.messageId;
  headers["Upstash-Retried"] = String(retried);
  headers["Upstash-Signature"] = signature;
  if (message.callerIp) headers["Upstash-Caller-IP"] = message.callerIp;
  if (message.scheduleId) headers["Upstash-Schedule-Id"] = message.scheduleId;
  if (message.topicName) headers["Upstash-Topic-Name"] = message.topicName;
  return {
    url: message.url,
    method: message.method,
    headers,
    body: message.body,
    // A message accepted under a larger limit is held to the current one (the platform may not allow more).
    timeoutMs: Math.min(message.timeoutSec ?? config.maxTimeoutSec, config.maxTimeoutSec) * 1000,
  };
}
