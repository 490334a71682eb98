import type { HeraldContext } from "./context.ts";
import { messageIdTime } from "./ids.ts";
import type { Message } from "./message.ts";

/**
 * A message by id: its stored record or, for a message that travelled with its delivery job (no record;
 * see travelsWithJob), the copy its log events keep once its attempt is logged. Before that it is in
 * flight and not found.
 */
export async function findMessage(ctx: HeraldContext, messageId: string): Promise<Message | undefined> {
  const stored = await ctx.store.getMessage(messageId);
  if (stored) return stored.message;
  if (ctx.dispatcher.carriesMessages !== true || messageIdTime(messageId) === undefined) return undefined;
  for await (const { item } of ctx.store.scanEvents({ order: "earliestFirst", messageIds: [messageId] })) {
    if (item.message) return item.message;
  }
  return undefined;
}
