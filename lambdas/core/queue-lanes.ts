// Queues ordered by the platform (docs/architecture.md §14): when the Dispatcher has `dispatchOrdered`
// (AWS: an SQS FIFO queue), a queued message's first job travels through one of its queue's
// `parallelism` lanes — a FIFO message group — where SQS runs at most one job at a time, in send order.
// A job holds its lane while its SQS receipt runs. A message that needs its lane for longer (a retry's
// backoff, its callbacks, a wait for `Not-Before` or a flow-control slot, a paused queue) moves the lane
// into the store: it becomes the head of the lane's entries, later jobs of the lane join behind it, and
// the store's pump (queues.ts, parallelism 1 per lane) gives them their turns until the lane is empty
// and flows through SQS again. So a lane is at any moment either flowing (entries empty) or held in the
// store; both never run at once, because only the lane's own running job adds its entries. Lowering a
// queue's parallelism sends later messages to fewer lanes; messages already in the others finish there.
import type { DeliveryJob } from "../ports.ts";
import type { HeraldContext } from "./context.ts";
import { FINAL_STATES, type Message } from "./message.ts";
import { knowLane, pumpQueue, queueConfig, type QueueConfig } from "./queues.ts";

/**
 * A message's lane: a hash of its id over the queue's parallelism. The same message always lands in the
 * same lane, so sending its job again (an enqueue retried after a crash) stays one job for SQS's
 * deduplication. FNV-1a: small and fast; nothing here needs a cryptographic hash.
 */
export function laneOf(messageId: string, parallelism: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < messageId.length; i++) {
    hash ^= messageId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % Math.max(1, parallelism);
}

/** The name of a lane: its entries' queue in the store and its SQS message group. Queue names have no `#`. */
export const laneName = (queue: string, lane: number): string => `${queue}#${lane}`;

export function parseLaneName(name: string): { queue: string; lane: number } | undefined {
  const at = name.lastIndexOf("#");
  if (at < 0) return undefined;
  return { queue: name.slice(0, at), lane: Number(name.slice(at + 1)) };
}

/** How many lanes a queue's messages may be in: the most parallelism it had (its lanes drain after a cut). */
export const laneCount = (config: QueueConfig): number => Math.max(config.lanes ?? 1, config.parallelism);

/** A message's lane: the one it was enqueued into. Lowering parallelism sends later messages to fewer lanes. */
export const laneOfMessage = (message: Message): string =>
  laneName(message.queueName as string, message.queueLane ?? 0);

/** A job that runs holding its lane; `pinned` when the lane's entries hold the message as their head. */
export interface LaneTurn {
  lane: string;
  pinned: boolean;
}

/**
 * What an ordered job does: run now, holding its lane (a LaneTurn), or nothing now (undefined) because
 * it joined the lane's entries — behind messages that hold the lane, while the queue is paused, or to
 * wait for its `Not-Before` as the lane's head.
 */
export async function laneGate(ctx: HeraldContext, message: Message): Promise<LaneTurn | undefined> {
  const lane = laneOfMessage(message);
  // Two independent reads, side by side (a lane's jobs run one after another: its round trips add up).
  // Only this job adds entries to its lane; others can only end meanwhile, and an entry seen just before
  // it ended makes this job join behind it, where the pump gives it its turn.
  const [config, held] = await Promise.all([
    queueConfig(ctx, message.queueName as string),
    ctx.store.headQueueEntries(lane, LANE_WINDOW),
  ]);
  await knowLane(ctx, config, message.queueLane ?? 0);
  const own = held.find((entry) => entry.messageId === message.messageId);
  if (own) {
    // A pump gave the entry its turn (a resume's, the sweep's, the lane's own after a wait): that turn's
    // job runs the message — at its Not-Before — not this one (SQS giving again the job that joined, or
    // an enqueue sent again past SQS's deduplication window).
    if (!own.parked && own.turn !== undefined) return undefined;
    // This job ran before and pinned the lane, then its run died: it holds the lane still — unless the
    // queue is paused now, when its entry parks (the resume's pump gives it its turn again).
    if (own === held[0] && !own.parked && !config.paused) return { lane, pinned: true };
    if (config.paused && !own.parked) await ctx.store.setQueueEntryParked(lane, own.seq, true, ctx.clock.now());
    // Settings read as paused are read again: a resume that landed since pumped before this park.
    await pumpQueue(ctx, lane, config.paused ? undefined : laneConfig(config, lane));
    return undefined;
  }
  if (held.length > 0 || config.paused || message.notBefore > ctx.clock.now()) {
    await joinLane(ctx, lane, message.messageId, config);
    return undefined;
  }
  // Its callbacks, and a flow-control wait, outlast this receipt: the lane's entries hold it meanwhile.
  if (message.callback || message.failureCallback || message.flowControl) {
    await pinLane(ctx, lane, message.messageId);
    return { lane, pinned: true };
  }
  return { lane, pinned: false };
}

/** Entries of a lane read to find a message's own (a lane holds few: one running, the rest behind it). */
export const LANE_WINDOW = 50;

/**
 * A laned message's job that found its queue paused and no entry of its own (its lane flowed when it was
 * sent): it joins its lane's entries, where the resume's pump finds it.
 */
export async function joinOwnLane(ctx: HeraldContext, message: Message): Promise<void> {
  const config = await queueConfig(ctx, message.queueName as string);
  await knowLane(ctx, config, message.queueLane ?? 0);
  await joinLane(ctx, laneOfMessage(message), message.messageId, config);
}

/**
 * A laned message's job that its invocation has no time left to run (an SQS FIFO batch holding several
 * of its lane: sqs-delivery.ts): it joins its lane's entries, unless it is there already or has ended,
 * and the lane's pump gives it its turn in order — out of SQS without a receive more toward the redrive.
 */
export async function handToLane(ctx: HeraldContext, job: DeliveryJob): Promise<void> {
  const stored = await ctx.store.getMessage(job.messageId);
  if (!stored || stored.message.queueName === undefined || FINAL_STATES.includes(stored.status.state)) return;
  const lane = laneOfMessage(stored.message);
  const held = await ctx.store.headQueueEntries(lane, LANE_WINDOW);
  if (held.some((entry) => entry.messageId === job.messageId)) return;
  await joinOwnLane(ctx, stored.message);
}

/**
 * Adds the message behind the lane's entries and pumps the lane (which may give it its turn at once).
 * Settings read as paused are read again after the entry is in: a resume that landed in between pumped
 * before the entry existed, and would otherwise leave it parked until the sweep.
 */
async function joinLane(ctx: HeraldContext, lane: string, messageId: string, config: QueueConfig): Promise<void> {
  const seq = await ctx.store.increment(`queue:${lane}`);
  await ctx.store.putQueueEntry(lane, { seq, messageId });
  await pumpQueue(ctx, lane, config.paused ? undefined : laneConfig(config, lane));
}

/**
 * Makes the running message the head of its lane's entries, holding the turn (before anything that
 * outlasts its SQS receipt is dispatched, so later jobs of the lane join behind it). The entry is written
 * with its turn taken: written parked and claimed after, a pump in between (the sweep's, a resume's) gave
 * it a turn of its own, whose job could run the message beside this run.
 */
export async function pinLane(ctx: HeraldContext, lane: string, messageId: string): Promise<void> {
  const seq = await ctx.store.increment(`queue:${lane}`);
  await ctx.store.putQueueEntry(lane, { seq, messageId, claimedAt: ctx.clock.now() });
}

/** A lane runs its entries one at a time, paused with its queue. */
export const laneConfig = (config: QueueConfig, lane: string): QueueConfig => ({
  ...config,
  name: lane,
  parallelism: 1,
});
