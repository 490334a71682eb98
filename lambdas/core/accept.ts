import type { HeraldContext } from "./context.ts";
import { registerFlowControl } from "./flow-control.ts";
import type { Message } from "./message.ts";
import { enqueueMessage } from "./queues.ts";

/**
 * Stores a new message and schedules its first attempt (a queue message waits for its turn instead).
 * Store first, then dispatch: a crash in between loses nothing the client was told about (it got no
 * response). A message whose id already exists (a derived callback id, when an attempt is processed
 * again) is not stored again — but if it never got past CREATED its first dispatch may be what failed,
 * so it is dispatched again (a duplicate job is harmless: the attempt's status changes are compare-and-set).
 */
export async function acceptMessage(ctx: HeraldContext, message: Message): Promise<boolean> {
  if (message.flowControl) await registerFlowControl(ctx, message.flowControl);
  if (message.queueName !== undefined) return enqueueMessage(ctx, message);
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
