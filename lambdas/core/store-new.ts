import type { HeraldContext } from "./context.ts";
import { endedInLog } from "./find-message.ts";
import type { Message } from "./message.ts";

/** What storeNewMessage found: the message to dispatch, and whether this call stored it. */
export interface NewMessage {
  message: Message;
  created: boolean;
}

/**
 * Stores a new message as CREATED, with its CREATED event. Answers the message as stored when its first
 * job is to be sent now: this call stored it, or an earlier run did (a derived id — a callback, a
 * schedule's firing — processed twice) and may have died before sending it, its first attempt not made
 * yet. Undefined when the earlier run got further: nothing is to be sent again. A light record's status
 * reads CREATED after its first attempt succeeded too: then its log says it ended.
 */
export async function storeNewMessage(ctx: HeraldContext, message: Message): Promise<NewMessage | undefined> {
  const created = await ctx.store.createMessage(message, { state: "CREATED", retried: 0 }, [
    { time: message.createdAt, messageId: message.messageId, state: "CREATED" },
  ]);
  if (created) return { message, created };
  const existing = await ctx.store.getMessage(message.messageId);
  if (existing?.status.state !== "CREATED" || existing.status.retried !== 0) return undefined;
  if (existing.status.implicit && (await endedInLog(ctx, message.messageId))) return undefined;
  return { message: existing.message, created };
}
