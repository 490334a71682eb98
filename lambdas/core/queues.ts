// Queues (docs/architecture.md §14): FIFO with parallelism, enforced by core through the Store so both
// platforms behave alike. A queue's unfinished messages are entries in enqueue order; at most
// `parallelism` of the first entries hold a delivery job, the rest are parked. An entry ends when its
// message is final and so are its callbacks; then the next parked entries get their jobs ("pump").
import type { QueueEntry } from "../ports.ts";
import type { HeraldContext } from "./context.ts";
import { badRequest, clip, notFound } from "./errors.ts";
import { callbackMessageId, failureCallbackMessageId } from "./ids.ts";
import { FINAL_STATES, type Message, type MessageStatus, type StoredMessage } from "./message.ts";
import {
  joinOwnLane,
  LANE_WINDOW,
  laneConfig,
  laneCount,
  laneName,
  laneOf,
  laneOfMessage,
  parseLaneName,
} from "./queue-lanes.ts";
import { putRecord, RESOURCE_NAME, updateRecord } from "./records.ts";
import { storeNewMessage } from "./store-new.ts";

export interface QueueConfig {
  name: string;
  parallelism: number;
  paused: boolean;
  createdAt: number;
  updatedAt: number;
  /** The most parallelism the queue had: its messages may be in that many lanes (queue-lanes.ts). */
  lanes?: number;
}

const MAX_PARALLELISM = 1000;
const counterOf = (queue: string): string => `queue:${queue}`;

export function assertQueueName(name: string): void {
  if (!RESOURCE_NAME.test(name)) {
    throw badRequest(`invalid queue name "${clip(name)}": use 1-128 of A-Z a-z 0-9 . _ -`);
  }
}

/**
 * The queue's settings; a queue that was never configured (or was deleted) runs with the defaults. A
 * lane's (queue-lanes.ts) are its queue's, one at a time.
 */
export async function queueConfig(ctx: HeraldContext, name: string): Promise<QueueConfig> {
  const lane = parseLaneName(name);
  if (lane) return laneConfig(await queueConfig(ctx, lane.queue), name);
  const stored = await ctx.store.getRecord<QueueConfig>("queue", name);
  if (stored) return stored.value;
  const now = ctx.clock.now();
  const defaults: QueueConfig = { name, parallelism: 1, paused: false, createdAt: now, updatedAt: now };
  unstoredConfigs.add(defaults);
  return defaults;
}

/** The defaults queueConfig answered for a queue without settings (a deleted queue: knowLane). */
const unstoredConfigs = new WeakSet<QueueConfig>();

/** `POST /v2/queues`: creates or updates; `paused` is honoured as the TS SDK sends it. */
export async function upsertQueue(ctx: HeraldContext, body: unknown): Promise<void> {
  const input = (body ?? {}) as { queueName?: unknown; parallelism?: unknown; paused?: unknown };
  if (typeof input.queueName !== "string") throw badRequest("queueName is required");
  assertQueueName(input.queueName);
  const parallelism = input.parallelism ?? 1;
  if (!Number.isInteger(parallelism) || (parallelism as number) < 1 || (parallelism as number) > MAX_PARALLELISM) {
    throw badRequest(`parallelism must be an integer between 1 and ${MAX_PARALLELISM}`);
  }
  if (input.paused !== undefined && typeof input.paused !== "boolean") throw badRequest("paused must be a boolean");
  const now = ctx.clock.now();
  const name = input.queueName;
  const inherited = await inheritedLanes(ctx, name);
  await updateRecord<QueueConfig>(ctx, "queue", name, (current) => ({
    name,
    parallelism: parallelism as number,
    paused: (input.paused as boolean | undefined) ?? current?.paused ?? false,
    createdAt: current?.createdAt ?? now,
    updatedAt: now,
    lanes: Math.max(current ? laneCount(current) : inherited, parallelism as number),
  }));
  await pumpAll(ctx, name); // more parallelism or a resume may let parked messages go
}

/**
 * The lanes a deleted queue of this name left (its marker's): a queue made again under the name keeps
 * pumping them until they drain, so messages that waited there are not forgotten.
 */
async function inheritedLanes(ctx: HeraldContext, name: string): Promise<number> {
  return (await ctx.store.getRecord<DeletedQueue>("deletedQueue", name))?.value.lanes ?? 1;
}

/** Pumps a queue's entries and, where the platform orders queues, each of its lanes' (queue-lanes.ts). */
export async function pumpAll(ctx: HeraldContext, queue: string, known?: QueueConfig): Promise<void> {
  const config = known ?? (await queueConfig(ctx, queue));
  await pumpQueue(ctx, queue, config);
  // Every lane a message may be in, those past a lowered parallelism too: they drain where they are.
  for (const lane of laneNames(ctx, config)) await pumpQueue(ctx, lane, laneConfig(config, lane));
}

const laneNames = (ctx: HeraldContext, config: QueueConfig): string[] =>
  ctx.dispatcher.dispatchOrdered ? Array.from({ length: laneCount(config) }, (_, i) => laneName(config.name, i)) : [];

export async function getQueue(ctx: HeraldContext, name: string): Promise<Record<string, unknown>> {
  const stored = await ctx.store.getRecord<QueueConfig>("queue", name);
  if (!stored) throw notFound(`queue "${name}" not found`);
  return queueView(ctx, stored.value);
}

export async function listQueues(ctx: HeraldContext): Promise<Record<string, unknown>[]> {
  const queues = await ctx.store.listRecords<QueueConfig>("queue");
  return Promise.all(queues.map((q) => queueView(ctx, q)));
}

/**
 * `lag` counts the messages waiting in the store: every unfinished one where core orders the queue; with
 * lanes (AWS), those of a paused queue and those behind a message holding its lane — not those still in
 * transit in SQS (docs/qstash-api.md §24).
 */
async function queueView(ctx: HeraldContext, queue: QueueConfig): Promise<Record<string, unknown>> {
  const counts = await Promise.all([queue.name, ...laneNames(ctx, queue)].map((n) => ctx.store.countQueueEntries(n)));
  return {
    name: queue.name,
    createdAt: queue.createdAt,
    updatedAt: queue.updatedAt,
    parallelism: queue.parallelism,
    lag: counts.reduce((a, b) => a + b, 0),
    paused: queue.paused,
  };
}

/** Marks a queue whose settings were deleted, so that the sweep still finds its entries (sweep.ts). */
export interface DeletedQueue {
  name: string;
  deletedAt: number;
  /** The deleted queue's lanes, which the sweep keeps pumping. */
  lanes?: number;
}

/**
 * A deleted queue's marker stays at least this long: an enqueue that read the settings before the delete
 * may still add its entry meanwhile (a Lambda runs at most 15 minutes). After that, an enqueue finds no
 * settings and writes them again, so the queue is listed with the others.
 */
const DELETED_MARKER_MS = 3_600_000;

/**
 * Removes the queue's settings; messages already in it are still delivered, with the default settings.
 * The marker is written first: a queue with entries is always findable by its settings or its marker.
 */
export async function deleteQueue(ctx: HeraldContext, name: string): Promise<void> {
  const stored = await ctx.store.getRecord<QueueConfig>("queue", name);
  if (!stored) throw notFound(`queue "${name}" not found`);
  const lanes = laneCount(stored.value);
  await updateRecord<DeletedQueue>(ctx, "deletedQueue", name, (old) => ({
    name,
    deletedAt: ctx.clock.now(),
    lanes: Math.max(lanes, old?.lanes ?? 1),
  }));
  if (!(await ctx.store.deleteRecord("queue", name))) throw notFound(`queue "${name}" not found`);
  await pumpAll(ctx, name, { ...(await queueConfig(ctx, name)), lanes });
}

/**
 * The sweep's part for a deleted queue's marker: pumps the queue (unless `listed`: it has settings again
 * and the sweep pumps it with them), and drops the marker once it is old and the queue no longer needs it
 * (settings again, or no entries). The drop is a compare-and-set: a newer delete's marker stays.
 */
export async function sweepDeletedQueue(ctx: HeraldContext, marker: DeletedQueue, listed: boolean): Promise<void> {
  const { name } = marker;
  const current = await queueConfig(ctx, name);
  const config = { ...current, lanes: Math.max(laneCount(current), marker.lanes ?? 1) };
  if (!listed || laneCount(config) > laneCount(current)) await pumpAll(ctx, name, config);
  const stored = await ctx.store.getRecord<DeletedQueue>("deletedQueue", name);
  if (!stored || ctx.clock.now() < stored.value.deletedAt + DELETED_MARKER_MS) return;
  // Needed while the deleted queue's entries wait: without settings again, any; with them, those in
  // lanes the new settings do not pump.
  const unpumped = listed ? laneNames(ctx, config).slice(laneCount(current)) : [name, ...laneNames(ctx, config)];
  let needed = false;
  for (const entries of unpumped) {
    if ((await ctx.store.headQueueEntries(entries, 1)).length > 0) needed = true;
  }
  if (!needed) await ctx.store.deleteRecord("deletedQueue", name, stored.version);
}

/**
 * Makes a queue's pumps reach a message's lane: a lane past the count its settings know (a deleted queue's,
 * whose messages still came through SQS — a FIFO queue keeps them 14 days — after the queue was made again
 * with less parallelism, or after its marker went) is added to them, or, when the queue has no settings,
 * to the deleted queue's marker, renewed (any lane, 0 too). Otherwise the entries such a message's job
 * adds there would wait for a pump — a resume's, the sweep's — that never comes. A write only on that
 * rare path.
 */
export async function knowLane(ctx: HeraldContext, config: QueueConfig, lane: number): Promise<void> {
  // Without settings even lane 0 renews the marker: the sweep drops an old one once it finds no entries,
  // and the entry this job may add next would then wait for a pump that never comes. Renewed (not old,
  // and a new version for the sweep's compare-and-set), the marker stays while the entry needs it.
  if (lane < laneCount(config) && !unstoredConfigs.has(config)) return;
  const name = config.name;
  // Answers the settings as they stand (changed or not), or undefined when there are none.
  const settings = await updateRecord<QueueConfig>(ctx, "queue", name, (current) =>
    current && lane >= laneCount(current) ? { ...current, lanes: lane + 1 } : undefined,
  );
  if (settings) return;
  const now = ctx.clock.now();
  await updateRecord<DeletedQueue>(ctx, "deletedQueue", name, (old) =>
    // A marker renewed within the last half hour already outlasts the entry this job may add (a join
    // within seconds, a pin within an attempt): the sweep drops none younger than an hour. No write.
    old && (old.lanes ?? 1) > lane && old.deletedAt >= now - DELETED_MARKER_MS / 2
      ? undefined
      : { name, deletedAt: Math.max(old?.deletedAt ?? 0, now), lanes: Math.max(old?.lanes ?? 1, lane + 1) },
  );
}

export async function setQueuePaused(ctx: HeraldContext, name: string, paused: boolean): Promise<void> {
  const found = await ctx.store.getRecord<QueueConfig>("queue", name);
  if (!found) throw notFound(`queue "${name}" not found`);
  await updateRecord<QueueConfig>(ctx, "queue", name, (current) =>
    current && current.paused !== paused ? { ...current, paused, updatedAt: ctx.clock.now() } : undefined,
  );
  if (!paused) await pumpAll(ctx, name);
}

/**
 * Accepts a message into its queue (creating the queue with defaults if needed): it gets the next
 * position, is stored, becomes a parked entry, and the queue is pumped. The message is stored before
 * its entry: a crash in between leaves a message no one was told about, never an entry without one.
 */
export async function enqueueMessage(ctx: HeraldContext, message: Message): Promise<boolean> {
  const queue = message.queueName as string;
  let config = (await ctx.store.getRecord<QueueConfig>("queue", queue))?.value;
  if (!config) {
    const now = ctx.clock.now();
    const lanes = await inheritedLanes(ctx, queue);
    config = { name: queue, parallelism: 1, paused: false, createdAt: now, updatedAt: now, lanes };
    await putRecord(ctx.store, "queue", queue, config, undefined); // a concurrent create wins: fine
  }
  if (ctx.dispatcher.dispatchOrdered) return enqueueInLane(ctx, message, config);
  const seq = await ctx.store.increment(counterOf(queue));
  const queued: Message = { ...message, queueSeq: seq };
  // The same message again (a schedule firing processed twice): if the first run died before its entry
  // was written, it is written now with the position the stored message has.
  const stored = await storeNewMessage(ctx, queued);
  const position = stored?.message.queueSeq;
  if (!stored || position === undefined) return false;
  await ctx.store.putQueueEntry(queue, { seq: position, messageId: queued.messageId });
  // The settings just read serve the pump too (one read less per enqueue): a pause that lands in
  // between is caught by the job itself, which parks.
  await pumpQueue(ctx, queue, config);
  return stored.created;
}

/**
 * Where the platform orders queues (queue-lanes.ts): the message is stored with its lane, then its first
 * job is sent into that lane; it waits there, in SQS, for its turn. A message stored by an earlier run
 * that died before the send (a schedule firing processed twice) is sent again into the lane it has.
 */
async function enqueueInLane(ctx: HeraldContext, message: Message, config: QueueConfig): Promise<boolean> {
  const queued: Message = { ...message, queueLane: laneOf(message.messageId, config.parallelism) };
  const stored = await storeNewMessage(ctx, queued);
  if (!stored) return false;
  const send = ctx.dispatcher.dispatchOrdered as NonNullable<typeof ctx.dispatcher.dispatchOrdered>;
  const lane = laneName(config.name, stored.message.queueLane ?? 0);
  await send.call(ctx.dispatcher, { messageId: queued.messageId, retried: 0 }, lane);
  return stored.created;
}

/** How long after its turn a first attempt may still legitimately not have finished. */
const LOST_TURN_MARGIN_MS = 15 * 60_000;

/** Times a pump that gave a turn back starts over (each time another pump took a turn at once). */
const MAX_PUMP_ROUNDS = 5;

/**
 * Gives a delivery job to parked entries among the first `parallelism` ones, unless paused, keeping at
 * most `parallelism` turns given. A snapshot can be out of date by the time a turn is claimed: on
 * DynamoDB an earlier entry of a concurrent enqueue can appear after a later one was given its turn.
 * So each claim is checked against a fresh read: if more than `parallelism` turns are out, this one is
 * given back and the pump starts over. Of two claims at least one sees the other, so the turns that
 * stand never exceed `parallelism`.
 * An entry given its turn whose first attempt never happened — well past its due time plus the longest
 * attempt — lost its job (the process died between the claim and the dispatch): it is dispatched again,
 * so a queue never stalls for good. Any pump does this, and the periodic sweep pumps every queue
 * (sweep.ts), so it does not wait for a later event on the queue.
 */
export async function pumpQueue(ctx: HeraldContext, queue: string, known?: QueueConfig, round = 0): Promise<void> {
  const config = known ?? (await queueConfig(ctx, queue));
  if (config.paused) return;
  const window = config.parallelism + Math.min(config.parallelism, 50) + 10;
  const turnsOut = (entries: QueueEntry[]): number => entries.filter((e) => !e.parked).length;
  const head = await ctx.store.headQueueEntries(queue, window);
  let holding = turnsOut(head);
  let gaveBack = false;
  for (const [position, entry] of head.entries()) {
    const now = ctx.clock.now();
    if (entry.parked) {
      if (position >= config.parallelism || holding >= config.parallelism) continue;
      // Read before the claim, which records the attempt its job is for: a lost turn is told from a
      // message waiting for its retry by it (redispatchLostTurn).
      const stored = await ctx.store.getMessage(entry.messageId);
      if (!stored) {
        await ctx.store.deleteQueueEntry(queue, entry.seq); // past retention
        continue;
      }
      // Un-parking is the claim: of two concurrent pumps only one dispatches the entry's job.
      let claimed: boolean;
      try {
        claimed = await ctx.store.setQueueEntryParked(queue, entry.seq, false, now, stored.status.retried);
      } catch (error) {
        // Its outcome unknown even after the store read it back: it may stand, without a job.
        await giveBack(ctx, queue, entry.seq, now).catch(() => undefined);
        throw error;
      }
      if (!claimed) continue;
      let dispatched: "dispatched" | "gaveBack";
      try {
        dispatched = await dispatchTurn(ctx, queue, stored, window, config.parallelism, now);
      } catch (error) {
        // The turn was claimed but its job may not exist: give it back so the next pump gives it again,
        // rather than leave the queue waiting for the lost-turn threshold (a crash still can: the sweep).
        await giveBack(ctx, queue, entry.seq, now).catch(() => undefined);
        throw error;
      }
      if (dispatched === "gaveBack") {
        await giveBack(ctx, queue, entry.seq, now);
        gaveBack = true;
        break;
      }
      if (dispatched === "dispatched") holding++;
    } else if (entry.claimedAt !== undefined && now > entry.claimedAt + lostAfterMs(ctx)) {
      await redispatchLostTurn(ctx, queue, entry, entry.claimedAt, now);
    }
  }
  // A turn given back may be free again by now (its holder finished meanwhile and its pump saw this
  // entry still claimed): look again, so no free turn stays idle.
  if (gaveBack && round < MAX_PUMP_ROUNDS) await pumpQueue(ctx, queue, undefined, round + 1);
}

/**
 * Parks a claimed entry again. Tried a few times: the store is failing when this runs after a failed
 * dispatch, and a turn left claimed without a job stalls its queue until the sweep presumes it lost
 * (bench/faults.ts found exactly that under injected faults). The park is a compare-and-set: idempotent.
 */
async function giveBack(ctx: HeraldContext, queue: string, seq: number, now: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await ctx.store.setQueueEntryParked(queue, seq, true, now);
      return;
    } catch (error) {
      if (attempt >= GIVE_BACK_TRIES - 1) throw error;
      await ctx.clock.sleep?.(100 * 2 ** attempt);
    }
  }
}
const GIVE_BACK_TRIES = 4;

/**
 * Dispatches a claimed turn's job (for the attempt its claim recorded), unless the claim put more than
 * `parallelism` turns out (then it is given back).
 */
async function dispatchTurn(
  ctx: HeraldContext,
  queue: string,
  { message, status }: StoredMessage,
  window: number,
  parallelism: number,
  now: number,
): Promise<"dispatched" | "gaveBack"> {
  const out = (await ctx.store.headQueueEntries(queue, window)).filter((e) => !e.parked).length;
  if (out > parallelism) return "gaveBack";
  // A message cancelled (or ended) while it waited deep in its queue ends now, not at its Not-Before.
  const ending = status.state === "CANCEL_REQUESTED" || FINAL_STATES.includes(status.state);
  await ctx.dispatcher.dispatch(
    { messageId: message.messageId, retried: status.retried },
    ending ? now : Math.max(now, message.notBefore),
  );
  return "dispatched";
}

/**
 * A turn given long ago whose attempt never happened lost its job: a first attempt, or the attempt a
 * pump's claim dispatched (a message whose retry waited while its queue was paused: still at that
 * attempt, its job is lost; past it, its next retry waits, and its turn is not lost). Giving it again is
 * itself a compare-and-set of the claim time, so concurrent pumps dispatch it once, and not again for a while.
 * A turn whose message ended long ago lost the end of its entry (its job never came back, e.g. it went
 * to the poison queue): the entry is ended now.
 */
async function redispatchLostTurn(
  ctx: HeraldContext,
  queue: string,
  entry: QueueEntry,
  claimedAt: number,
  now: number,
): Promise<void> {
  const stored = await ctx.store.getMessage(entry.messageId);
  if (!stored) {
    await ctx.store.deleteQueueEntry(queue, entry.seq);
    return;
  }
  const { status, message } = stored;
  if (FINAL_STATES.includes(status.state)) {
    await finishEntryIfDone(ctx, message, status);
    return;
  }
  const neverAttempted = status.state === "CREATED" && status.retried === 0;
  const pumpedNotAttempted = entry.turn !== undefined && entry.turn === status.retried;
  if (!neverAttempted && !pumpedNotAttempted) return;
  if (now <= Math.max(message.notBefore, pumpedNotAttempted ? claimedAt : 0) + lostAfterMs(ctx)) return;
  if (!(await ctx.store.reclaimQueueEntry(queue, entry.seq, claimedAt, now))) return;
  await ctx.dispatcher.dispatch({ messageId: entry.messageId, retried: status.retried }, now);
}

const lostAfterMs = (ctx: HeraldContext): number => ctx.config.maxTimeoutSec * 1000 + LOST_TURN_MARGIN_MS;

/**
 * A queued message (or a queued message's callback) cancelled while it waits — for a retry's backoff, a
 * `Not-Before`, a flow-control slot — holds its queue's turn until its next job ends it CANCELED
 * (deliver.ts): up to a day's backoff, a year's delay, a paused key's whole pause, where QStash lets the
 * next message go. So each such message is sent a job for the moment any attempt under way at the cancel
 * has ended (the status cannot tell a retry waiting from one in flight, and an attempt's outcome stands
 * over a cancel, §13); it ends the message and its turn then. A job that finds the message ended by then
 * is skipped. The jobs go out together (the SQS dispatcher sends those of one event-loop turn ten a
 * request). Best effort: a send that fails leaves a message to its own next job, as before, and the
 * cancel, which stands, is still answered.
 */
export async function releaseCancelledTurns(ctx: HeraldContext, cancelled: StoredMessage[]): Promise<void> {
  // An attempt ends within its timeout (at most maxTimeoutSec); a minute more lets it write its outcome.
  const at = ctx.clock.now() + ctx.config.maxTimeoutSec * 1000 + 60_000;
  const holding = cancelled.filter(
    ({ message, status }) =>
      (message.queueName !== undefined || message.origin?.sourceQueued === true) &&
      // A first attempt due by then, with no slot to wait for, comes by then anyway (or gets its turn).
      (status.state !== "CREATED" || message.notBefore > at || message.flowControl !== undefined),
  );
  await Promise.all(
    holding.map(({ message, status }) =>
      ctx.dispatcher.dispatch({ messageId: message.messageId, retried: status.retried }, at).catch(() => undefined),
    ),
  );
}

/**
 * Called when a queue message's job finds its queue paused: the entry parks, and a resume that came in
 * meanwhile is not missed (it pumps after this park, or this re-check sees it).
 */
export async function parkIfPaused(ctx: HeraldContext, message: Message): Promise<boolean> {
  const queue = message.queueName;
  if (queue === undefined || (message.queueSeq === undefined && message.queueLane === undefined)) return false;
  if (!(await queueConfig(ctx, queue)).paused) return false;
  const entry = await entryOf(ctx, message);
  if (entry) await ctx.store.setQueueEntryParked(entry.queue, entry.seq, true, ctx.clock.now());
  else if (message.queueLane !== undefined) await joinOwnLane(ctx, message);
  if (!(await queueConfig(ctx, queue)).paused) await pumpAll(ctx, queue);
  return true;
}

/**
 * Where a queue message's entry is: at its position, or among the first entries of its lane (a message
 * that holds its lane is at or near the head: a duplicate entry of a crashed run may follow it).
 */
async function entryOf(ctx: HeraldContext, message: Message): Promise<{ queue: string; seq: number } | undefined> {
  if (message.queueSeq !== undefined) return { queue: message.queueName as string, seq: message.queueSeq };
  const lane = laneOfMessage(message);
  const entry = (await ctx.store.headQueueEntries(lane, LANE_WINDOW)).find((e) => e.messageId === message.messageId);
  return entry ? { queue: lane, seq: entry.seq } : undefined;
}

/**
 * Called after any message reached a final state: a queue message's entry ends once it and its
 * callbacks are final — checked from both sides, so whichever finishes last ends the entry.
 */
export async function onMessageFinal(
  ctx: HeraldContext,
  message: Message,
  status: MessageStatus,
  /** False when the message ran through its lane without holding it (no entry to end, no read needed). */
  inStore = true,
): Promise<void> {
  if (!inStore) return;
  if (message.queueName !== undefined && (message.queueSeq !== undefined || message.queueLane !== undefined)) {
    await finishEntryIfDone(ctx, message, status);
    return;
  }
  if (message.origin?.sourceQueued) {
    const source = await ctx.store.getMessage(message.origin.sourceMessageId);
    if (source?.message.queueName !== undefined && FINAL_STATES.includes(source.status.state)) {
      await finishEntryIfDone(ctx, source.message, source.status);
    }
  }
}

async function finishEntryIfDone(ctx: HeraldContext, message: Message, status: MessageStatus): Promise<void> {
  const callbacks: string[] = [];
  if (message.callback) {
    for (let r = 0; r <= status.retried; r++) callbacks.push(callbackMessageId(message.messageId, r));
  }
  if (message.failureCallback) callbacks.push(failureCallbackMessageId(message.messageId));
  for (const id of callbacks) {
    const callback = await ctx.store.getMessage(id);
    if (callback && !FINAL_STATES.includes(callback.status.state)) return; // it ends the entry when final
  }
  const entry = await entryOf(ctx, message);
  if (!entry) return; // a laned message that ran through its lane without holding it: nothing to end
  await ctx.store.deleteQueueEntry(entry.queue, entry.seq);
  await pumpQueue(ctx, entry.queue);
}
