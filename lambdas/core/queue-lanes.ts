// Queues ordered by the platform (docs/architecture.md §14): when the Dispatcher has `dispatchOrdered`
// (AWS: an SQS FIFO queue), a queued message's first job travels through one of its queue's
// `parallelism` lanes — a FIFO message group — where SQS runs at most one job at a time, in send order.
// A job holds its lane while its SQS receipt runs. A message that needs its lane for longer (a retry's
// backoff, its callbacks, a wait for `Not-Before` or a flow-control slot, a paused queue) moves the lane
// into the store: it becomes the head of the lane's entries, later jobs of the lane join behind it, and
// the store's pump (queues.ts, parallelism 1 per lane) gives them their turns until the lane is empty
// and flows through SQS again. So a lane is at any moment either flowing (entries empty) or held in the
// store; both never run at once, because only the lane's own running job adds its entries.
import type { HeraldContext } from "./context.ts";
import type { Message } from "./message.ts";
import { pumpQueue, queueConfig, type QueueConfig } from "./queues.ts";

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

/** The lane a queued message runs in now: its own, unless the queue's parallelism fell below it. */
function currentLane(message: Message, config: QueueConfig): number {
  const lane = message.queueLane ?? 0;
  return lane < config.parallelism ? lane : laneOf(message.messageId, config.parallelism);
}

/** A job that runs holding its lane; `pinned` when the lane's entries hold the message as their head. */
export interface LaneTurn {
  lane: string;
  pinned: boolean;
}

/**
 * What an ordered job does: run now, holding its lane (a LaneTurn), or nothing now (undefined) because
 * it joined the lane's entries — behind messages that hold the lane, while the queue is paused, after
 * the queue's parallelism was lowered below its lane, or to wait for its `Not-Before` as the lane's head.
 */
export async function laneGate(ctx: HeraldContext, message: Message): Promise<LaneTurn | undefined> {
  const config = await queueConfig(ctx, message.queueName as string);
  const lane = laneName(config.name, currentLane(message, config));
  const [head] = await ctx.store.headQueueEntries(lane, 1);
  if (head?.messageId === message.messageId) {
    // This job ran before and pinned the lane, then its run died: it holds the lane still.
    if (!head.parked && !config.paused) return { lane, pinned: true };
    await pumpQueue(ctx, lane, laneConfig(config, lane));
    return undefined;
  }
  const moved = lane !== laneName(config.name, message.queueLane ?? 0);
  if (head || config.paused || moved || message.notBefore > ctx.clock.now()) {
    await joinLane(ctx, lane, message.messageId, config);
    return undefined;
  }
  // Its callbacks, and a flow-control wait, outlast this receipt: the lane's entries hold it meanwhile.
  if (message.callback || message.failureCallback || message.flowControl) {
    return (await pinLane(ctx, lane, message.messageId)) ? { lane, pinned: true } : undefined;
  }
  return { lane, pinned: false };
}

/**
 * A laned message's job that found its queue paused and no entry of its own (its lane flowed when it was
 * sent): it joins its lane's entries, where the resume's pump finds it.
 */
export async function joinOwnLane(ctx: HeraldContext, message: Message): Promise<void> {
  const config = await queueConfig(ctx, message.queueName as string);
  await joinLane(ctx, laneName(config.name, currentLane(message, config)), message.messageId, config);
}

/** Adds the message behind the lane's entries and pumps the lane (which may give it its turn at once). */
async function joinLane(ctx: HeraldContext, lane: string, messageId: string, config: QueueConfig): Promise<void> {
  const seq = await ctx.store.increment(`queue:${lane}`);
  await ctx.store.putQueueEntry(lane, { seq, messageId });
  await pumpQueue(ctx, lane, laneConfig(config, lane));
}

/**
 * Makes the running message the head of its lane's entries, holding the turn (before anything that
 * outlasts its SQS receipt is dispatched, so later jobs of the lane join behind it). False when a pump
 * (the sweep's) gave the new entry its turn first: then that turn's job runs the message, not this one.
 */
export async function pinLane(ctx: HeraldContext, lane: string, messageId: string): Promise<boolean> {
  const seq = await ctx.store.increment(`queue:${lane}`);
  await ctx.store.putQueueEntry(lane, { seq, messageId });
  return ctx.store.setQueueEntryParked(lane, seq, false, ctx.clock.now());
}

/** Entries a closed lane hands over per pump (the rest on the next pump or sweep). */
const MOVE_BATCH = 100;

/**
 * A lane at or past the queue's lowered parallelism: its waiting (parked) entries join the lane their
 * message hashes to now, so no more than `parallelism` turns run once the turns already given end. Join
 * before delete: a crash in between leaves a duplicate entry, which ends at once when its turn comes
 * (its message is final by then), never a lost one.
 */
export async function moveOutOfLane(ctx: HeraldContext, config: QueueConfig, closed: string): Promise<void> {
  const entries = await ctx.store.headQueueEntries(closed, MOVE_BATCH);
  for (const entry of entries) {
    if (!entry.parked) continue; // holds its turn: it ends where it is (lanesOf finds it)
    const target = laneName(config.name, laneOf(entry.messageId, config.parallelism));
    const seq = await ctx.store.increment(`queue:${target}`);
    await ctx.store.putQueueEntry(target, { seq, messageId: entry.messageId });
    await ctx.store.deleteQueueEntry(closed, entry.seq);
  }
}

/** A lane runs its entries one at a time, paused with its queue. */
export const laneConfig = (config: QueueConfig, lane: string): QueueConfig => ({
  ...config,
  name: lane,
  parallelism: 1,
});

/**
 * The lanes a laned message's entry may be in: its own, and the one it moved to when the queue's
 * parallelism fell below it (a later change may move it again: the sweep ends such an entry, queues.ts).
 */
export async function lanesOf(ctx: HeraldContext, message: Message): Promise<string[]> {
  const config = await queueConfig(ctx, message.queueName as string);
  const own = laneName(config.name, message.queueLane ?? 0);
  const now = laneName(config.name, currentLane(message, config));
  return own === now ? [own] : [own, now];
}
