import type { HeraldContext } from "./context.ts";
import type { Message } from "./message.ts";

/**
 * Stores a new message and schedules its first attempt. Store first, then dispatch: a crash in between
 * loses nothing the client was told about (it got no response). A message whose id already exists (a
 * derived callback id, when an attempt is processed again) is not stored again — but if it never got
 * past CREATED its first dispatch may be what failed, so it is dispatched again (a duplicate job is
 * harmless: the attempt's status changes are compare-and-set).
 */
export async function acceptMessage(ctx: HeraldContext, message: Message): Promise<boolean> {
  const created = await ctx.store.createMessage(message, { state: "CREATED", retried: 0 }, [
    { time: message.createdAt, messageId: message.messageId, state: "CREATED" },
  ]);
  if (!created) {
    const existing = await ctx.store.getMessage(message.messageId);
    if (existing?.status.state !== "CREATED" || existing.status.retried !== 0) return false;
  }
  await ctx.dispatcher.dispatch({ messageId: message.messageId, retried: 0 }, message.notBefore);
  return created;
}
