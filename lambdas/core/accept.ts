import type { HeraldContext } from "./context.ts";
import type { Message } from "./message.ts";

/**
 * Stores a new message and schedules its first attempt. Store first, then dispatch: a crash in between
 * loses nothing the client was told about (it got no response). A message whose id already exists
 * (a derived callback id processed twice) is not stored or dispatched again.
 */
export async function acceptMessage(ctx: HeraldContext, message: Message): Promise<boolean> {
  const created = await ctx.store.createMessage(message, { state: "CREATED", retried: 0 }, [
    { time: message.createdAt, messageId: message.messageId, state: "CREATED" },
  ]);
  if (created) await ctx.dispatcher.dispatch({ messageId: message.messageId, retried: 0 }, message.notBefore);
  return created;
}
