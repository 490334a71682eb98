import { acceptMessage } from "./accept.ts";
import type { HeraldContext } from "./context.ts";
import { parseDestination, splitQuery } from "./destination.ts";
import { HttpError, notFound } from "./errors.ts";
import type { IncomingHeaders } from "./headers.ts";
import { newMessageId } from "./ids.ts";
import type { Message } from "./message.ts";
import { parsePublishOptions } from "./publish-options.ts";

export interface PublishRequest {
  /** The raw path after `/v2/publish/`. */
  destination: string;
  rawQuery: string;
  headers: IncomingHeaders;
  body: Uint8Array;
  callerIp?: string;
}

export interface PublishResult {
  messageId: string;
  url: string;
  deduplicated?: boolean;
}

/** Reads a publish request into the message(s) it creates, without side effects. */
export function planPublish(request: PublishRequest, nowMs: number, ctx: Pick<HeraldContext, "config">): Message[] {
  if (request.body.byteLength > ctx.config.maxBodyBytes) {
    throw new HttpError(413, `message body too large: at most ${ctx.config.maxBodyBytes} bytes`);
  }
  const destination = parseDestination(request.destination, request.rawQuery);
  const options = parsePublishOptions(request.headers, nowMs, ctx.config, splitQuery(request.rawQuery).config);
  if (destination.kind === "urlGroup") throw notFound(`url group "${destination.name}" not found`);
  const message: Message = {
    messageId: newMessageId(nowMs),
    url: destination.url,
    body: request.body,
    createdAt: nowMs,
    ...options,
  };
  if (request.callerIp) message.callerIp = request.callerIp;
  return [message];
}

export async function publish(ctx: HeraldContext, request: PublishRequest): Promise<PublishResult> {
  const [message] = planPublish(request, ctx.clock.now(), ctx) as [Message];
  await acceptMessage(ctx, message);
  return { messageId: message.messageId, url: message.url };
}
