// Flow control (docs/architecture.md §15, docs/qstash-api.md §16): per key, at most `parallelism` attempts in flight and at most
// `rate` attempts started per `period`, across every delivery worker — the state is one small record in
// the Store, changed by compare-and-set. An attempt that may not start waits: for the next rate period,
// or (parallelism, pause) as an entry in the key's wait list, woken when an attempt ends or on resume.
import type { DeliveryJob } from "../ports.ts";
import type { HeraldContext } from "./context.ts";
import { parseDuration } from "./duration.ts";
import { processState } from "./process-state.ts";
import { badRequest, clip, notFound } from "./errors.ts";
import type { FlowControlSettings } from "./message.ts";
import { RESOURCE_NAME, updateRecord } from "./records.ts";
import { laneOf } from "./queue-lanes.ts";
import { nextWaitListPosition } from "./wait-list-position.ts";

export interface FlowControlState {
  key: string;
  /** 0: no limit. */
  parallelismMax: number;
  rateMax: number;
  /** Seconds. */
  ratePeriod: number;
  /** Epoch ms the current rate period started. */
  ratePeriodStart: number;
  rateCount: number;
  /** Attempts in flight: holder (messageId:retried) -> start, epoch ms. */
  holders: Record<string, number>;
  /**
   * Slots kept for waiters a waker gave a job (holder -> when, epoch ms), until the job arrives and takes
   * its slot. Absent when none (records written before have none).
   */
  reserved?: Record<string, number>;
  isPaused: boolean;
  isPinnedParallelism: boolean;
  isPinnedRate: boolean;
}

const MAX_PERIOD_SEC = 7 * 86_400;
const waitList = (key: string): string => `fc:${key}`;
const holderOf = (job: DeliveryJob): string => `${job.messageId}:${job.retried}`;
// A wait-list entry names the attempt, not only the message: a stale entry of an earlier attempt must
// not start the next one before its backoff.
const waiterOf = (job: DeliveryJob): string => `${job.messageId}|${job.retried}`;
function parseWaiter(waiter: string): DeliveryJob {
  const bar = waiter.lastIndexOf("|");
  return bar < 0
    ? { messageId: waiter, retried: -1 }
    : { messageId: waiter.slice(0, bar), retried: Number(waiter.slice(bar + 1)) };
}

/** Parses `parallelism=<n>, rate=<n>, period=<duration>` in any order and spacing. */
export function parseFlowControl(key: string | undefined, value: string | undefined): FlowControlSettings | undefined {
  if (key === undefined && value === undefined) return undefined;
  const trimmed = key?.trim() ?? "";
  if (trimmed === "") throw badRequest("Upstash-Flow-Control-Key is required with Upstash-Flow-Control-Value");
  if (!RESOURCE_NAME.test(trimmed)) {
    throw badRequest(`invalid Upstash-Flow-Control-Key "${clip(trimmed)}": use 1-128 of A-Z a-z 0-9 . _ -`);
  }
  const settings: FlowControlSettings = { key: trimmed };
  for (const part of (value ?? "").split(",")) {
    if (part.trim() === "") continue;
    const m = /^\s*(parallelism|rate|period)\s*=\s*([^\s]+)\s*$/i.exec(part);
    if (!m) throw badRequest(`invalid Upstash-Flow-Control-Value part "${clip(part.trim())}"`);
    const name = (m[1] as string).toLowerCase();
    const raw = m[2] as string;
    if (name === "period") {
      const seconds = parseDuration(raw, "flow-control period");
      if (seconds < 1 || seconds > MAX_PERIOD_SEC) throw badRequest("flow-control period must be between 1s and 7d");
      settings.periodSec = seconds;
      continue;
    }
    if (!/^\d{1,6}$/.test(raw) || Number(raw) < 1) {
      throw badRequest(`invalid flow-control ${name} "${clip(raw)}": a positive integer`);
    }
    if (name === "parallelism") settings.parallelism = Number(raw);
    else settings.rate = Number(raw);
  }
  if (settings.parallelism === undefined && settings.rate === undefined) {
    throw badRequest("Upstash-Flow-Control-Value needs parallelism or rate");
  }
  return settings;
}

function freshState(key: string, now: number): FlowControlState {
  return {
    key,
    parallelismMax: 0,
    rateMax: 0,
    ratePeriod: 1,
    ratePeriodStart: now,
    rateCount: 0,
    holders: {},
    isPaused: false,
    isPinnedParallelism: false,
    isPinnedRate: false,
  };
}

/**
 * The newest message's settings become the key's (unless pinned). Written only when something changes.
 * Answers the key's parallelism limit now (0: none), which a pin may make other than the message's.
 */
export async function registerFlowControl(ctx: HeraldContext, settings: FlowControlSettings): Promise<number> {
  const now = ctx.clock.now();
  const state = await updateRecord<FlowControlState>(ctx, "flowControl", settings.key, (current) => {
    const state = current ?? freshState(settings.key, now);
    const next = { ...state };
    if (!state.isPinnedParallelism) next.parallelismMax = settings.parallelism ?? 0;
    if (!state.isPinnedRate) {
      next.rateMax = settings.rate ?? 0;
      next.ratePeriod = settings.periodSec ?? 1;
    }
    const changed =
      !current ||
      next.parallelismMax !== state.parallelismMax ||
      next.rateMax !== state.rateMax ||
      next.ratePeriod !== state.ratePeriod;
    return changed ? next : undefined;
  });
  return state?.parallelismMax ?? 0;
}

/**
 * The lane (AWS: a message group of the FIFO queue) of a key's message due at once: a hash of its id over
 * the key's parallelism, as a queue's lanes are (queue-lanes.ts). A lane runs one job at a time, so its
 * jobs reach the key's slots no faster than those free up, instead of a batch of ten meeting the slots
 * and the rest joining the wait list (§15, "Lanes"). The slots stay the limit. Queue names cannot hold
 * `:`, so no queue lane has this name.
 */
export const flowLaneName = (key: string, messageId: string, parallelism: number): string =>
  `${FLOW_LANE}${key}#${laneOf(messageId, parallelism)}`;
const FLOW_LANE = "fc:";

/**
 * Whether a lane (an SQS message group: its start survives a digest, `messageGroupOf`) is a flow-control
 * key's. Its jobs need no order among themselves: the platform runs those it holds at once side by side,
 * and they meet the key's slots (handing them over within the process) as any jobs do.
 */
export const isFlowLane = (lane: string): boolean => lane.startsWith(FLOW_LANE);

/** Holders older than this are attempts whose worker died: they no longer count. */
function staleAfterMs(ctx: HeraldContext): number {
  return ctx.config.maxTimeoutSec * 1000 + 60_000;
}

/**
 * Not admitted: come back at `retryAt`, or (without it) wait in the key's wait list; `full` when every
 * slot is taken (not paused), so that one coming free lets it go.
 */
export type Admission = { admitted: true } | { admitted: false; retryAt?: number; full?: true };

/**
 * Whether attempt `holder` may take a slot of `state` now, and the state to write: with the slot taken, or
 * (not admitted) with the slot a waker kept for this attempt given up, so it no longer counts.
 */
function admit(
  state: FlowControlState,
  holder: string,
  now: number,
  staleMs: number,
): { admission: Admission; next?: FlowControlState } {
  const holders = liveHolders(state, now - staleMs);
  // Its own kept slot is the one it takes; the others' count as taken.
  const { [holder]: kept, ...reserved } = liveReserved(state, now);
  const refused = (admission: Admission) =>
    kept === undefined ? { admission } : { admission, next: withReserved({ ...state, holders }, reserved) };
  const since = holders[holder];
  if (since !== undefined) return refused({ admitted: false, retryAt: since + staleMs + 1 });
  if (state.isPaused) return refused({ admitted: false });
  let { ratePeriodStart, rateCount } = state;
  if (state.rateMax > 0 && now >= ratePeriodStart + state.ratePeriod * 1000) {
    ratePeriodStart = now;
    rateCount = 0;
  }
  if (state.rateMax > 0 && rateCount >= state.rateMax) {
    return refused({ admitted: false, retryAt: ratePeriodStart + state.ratePeriod * 1000 });
  }
  if (state.parallelismMax > 0 && count(holders) + count(reserved) >= state.parallelismMax) {
    return refused({ admitted: false, full: true });
  }
  const taken = { ...state, holders: { ...holders, [holder]: now }, ratePeriodStart, rateCount: rateCount + 1 };
  return { admission: { admitted: true }, next: withReserved(taken, reserved) };
}

/**
 * Takes a slot for attempt `job` of a message with flow control, or says when to come back. A job whose
 * attempt already holds a slot is another run of it: either a duplicate while the first is in flight,
 * or a redelivery after the holder died — it comes back when that hold has gone stale (by then a live
 * first run has settled the attempt, and this run finds nothing to do).
 *
 * With `slotWait` (how long this run may wait in its process), an attempt that finds every slot taken
 * while an attempt of this process holds one of them waits for that one to end and takes its slot over
 * in the same write (`releaseFlowSlot`), instead of joining the wait list: no list entry, no job to
 * dispatch again and receive again (a delivery batch of ten jobs of one key, five slots).
 */
export async function acquireFlowSlot(
  ctx: HeraldContext,
  key: string,
  job: DeliveryJob,
  slotWait?: SlotWait,
): Promise<Admission> {
  const holder = holderOf(job);
  const lane = slotWait ? job.lane : undefined;
  if (lane !== undefined) {
    // Another job of its lane takes or holds a slot here: this one waits to take that slot over when it
    // ends (one write for both) rather than take a slot of its own. A lane's batch holding several
    // slots left the next batches of the other lanes, often in other invocations, none: they joined
    // the wait list (BENCHMARKS, "Flow control on FIFO lanes").
    if (laneCount(localSlots.obtain(ctx.store, key), lane) > 0) {
      if ((await handedOver(ctx, key, holder, slotWait as SlotWait, lane)) === "admitted") return { admitted: true };
    }
    // Its lane's turn here is its own now (the job ahead of it ended, went to the list, or its wait ran out).
    countLane(localSlots.obtain(ctx.store, key), lane, 1);
  }
  let admission: Admission = { admitted: false };
  try {
    let droppedStale = false;
    await updateRecord<FlowControlState>(ctx, "flowControl", key, (current) => {
      const now = ctx.clock.now();
      const state = current ?? freshState(key, now);
      droppedStale = occupied(state, now, staleAfterMs(ctx)) < count(state.holders) + count(state.reserved ?? {});
      const decided = admit(state, holder, now, staleAfterMs(ctx));
      admission = decided.admission;
      return decided.next;
    });
    if (admission.admitted) localSlots.obtain(ctx.store, key).holders.set(holder, lane);
    // Slots of workers that died, or kept for jobs that never came, came free: waiters may go. A wake-up
    // that fails leaves them to the next release or the sweep; the slot taken stands (its run releases it).
    if (droppedStale) await wakeWaiters(ctx, key).catch(() => undefined);
    if (!admission.admitted && admission.full && slotWait && (localSlots.get(ctx.store, key)?.holders.size ?? 0) > 0) {
      // Held from the hand-over; a lane's job counted in its lane already.
      if ((await handedOver(ctx, key, holder, slotWait, lane, true)) === "admitted") admission = { admitted: true };
    }
  } finally {
    if (lane !== undefined && !admission.admitted) {
      const local = localSlots.obtain(ctx.store, key);
      countLane(local, lane, -1);
      letWaitersGo(local);
      pruneLocal(ctx, key);
    }
  }
  return admission;
}

// ---- slots handed over within a process ----------------------------------------------------------

/**
 * How long a run may wait in its process for a slot: starts the allowance, calls `over` when it ends,
 * and returns what cancels it (a timer the adapter keeps: core has none). The delivery Lambda allows
 * the invocation's time left beyond its longest attempt, so the attempt still ends in time.
 */
export type SlotWait = (over: () => void) => () => void;

/** An attempt of this process waiting for a slot that an attempt of this process holds. */
interface LocalWaiter {
  holder: string;
  /** The flow-control lane its job came through (DeliveryJob.lane), if any. */
  lane?: string;
  /** Its lane counts it already (it took its lane's turn, then found every slot taken). */
  counted: boolean;
  handOver: (outcome: HandOver) => void;
}
/** "admitted": it holds a slot handed over; "refused": not given one (to the list); "go": try on your own. */
type HandOver = "admitted" | "refused" | "go";
/**
 * A key's slots that attempts of this process hold (holder -> its job's lane), the runs here waiting for
 * one of them, and per lane how many of its jobs here take or hold a slot (normally one at most).
 */
interface LocalSlots {
  holders: Map<string, string | undefined>;
  waiters: LocalWaiter[];
  lanes: Map<string, number>;
  /** Releases under way: the state is not forgotten under them (they write to it when they end). */
  releasing: number;
}
const localSlots = processState<LocalSlots>(() => ({
  holders: new Map(),
  waiters: [],
  lanes: new Map(),
  releasing: 0,
}));

const laneCount = (local: LocalSlots, lane: string): number => local.lanes.get(lane) ?? 0;
function countLane(local: LocalSlots, lane: string, by: number): void {
  const next = laneCount(local, lane) + by;
  if (next > 0) local.lanes.set(lane, next);
  else local.lanes.delete(lane);
}

/**
 * Lets go the waiters no slot of this process will reach: with none held here, those of no lane (to the
 * wait list); and the first waiter of a lane none of whose jobs here takes or holds a slot (it tries on
 * its own, and those behind it wait for it).
 */
function letWaitersGo(local: LocalSlots): void {
  const going = new Set<string>();
  for (const waiter of [...local.waiters]) {
    let outcome: HandOver | undefined;
    if (waiter.lane === undefined || waiter.counted) {
      if (local.holders.size === 0) outcome = "refused";
    } else if (laneCount(local, waiter.lane) === 0 && !going.has(waiter.lane)) {
      going.add(waiter.lane);
      outcome = "go";
    }
    if (outcome === undefined) continue;
    local.waiters.splice(local.waiters.indexOf(waiter), 1);
    waiter.handOver(outcome);
  }
}

/** Forgets a key nothing of this process holds or waits for (a process may see many keys). */
function pruneLocal(ctx: HeraldContext, key: string): void {
  const slots = localSlots.get(ctx.store, key);
  if (slots && slots.holders.size === 0 && slots.waiters.length === 0 && slots.lanes.size === 0 && !slots.releasing) {
    localSlots.delete(ctx.store, key);
  }
}

/** How many runs of this process wait for a slot of `key` to be handed over (for tests and probes). */
export const slotWaitersInProcess = (ctx: HeraldContext, key: string): number =>
  localSlots.get(ctx.store, key)?.waiters.length ?? 0;

/**
 * Waits, while `slotWait` allows, for an attempt of this process to hand its slot over. "refused" also
 * when the allowance ran out.
 */
function handedOver(
  ctx: HeraldContext,
  key: string,
  holder: string,
  slotWait: SlotWait,
  lane?: string,
  counted = false,
): Promise<HandOver> {
  const { waiters } = localSlots.obtain(ctx.store, key);
  return new Promise((resolve) => {
    let cancel = (): void => undefined;
    const waiter: LocalWaiter = {
      holder,
      ...(lane === undefined ? {} : { lane }),
      counted,
      handOver: (outcome) => {
        cancel();
        resolve(outcome);
      },
    };
    waiters.push(waiter);
    // The allowance ran out: it leaves the line (once taken from it, a hand-over is under way and answers).
    cancel = slotWait(() => {
      const at = waiters.indexOf(waiter);
      if (at < 0) return;
      waiters.splice(at, 1);
      pruneLocal(ctx, key);
      resolve("refused");
    });
  });
}

function liveHolders(state: FlowControlState, staleBefore: number): Record<string, number> {
  return Object.fromEntries(Object.entries(state.holders).filter(([, since]) => since >= staleBefore));
}

/**
 * How long a slot is kept for a woken waiter's job: it normally arrives within a second (an SQS send and
 * receive). One that has not come by then (its waker died before sending it, or the delivery queue is
 * backed up) no longer keeps anyone out; a job arriving later takes a slot as any other.
 */
const RESERVATION_MS = 60_000;

function liveReserved(state: FlowControlState, now: number): Record<string, number> {
  const reserved = state.reserved ?? {};
  return Object.fromEntries(Object.entries(reserved).filter(([, since]) => since >= now - RESERVATION_MS));
}

/** `state` with these kept slots (the field left out when there are none, as records had before). */
function withReserved(state: FlowControlState, reserved: Record<string, number>): FlowControlState {
  const { reserved: _old, ...rest } = state;
  return count(reserved) > 0 ? { ...rest, reserved } : rest;
}

const count = (slots: Record<string, number>): number => Object.keys(slots).length;

/** Slots taken: attempts in flight and slots kept for woken waiters. */
function occupied(state: FlowControlState, now: number, staleMs: number): number {
  return count(liveHolders(state, now - staleMs)) + count(liveReserved(state, now));
}

/**
 * Parks attempt `job` in the key's wait list. If a slot came free meanwhile (its holder's wake-up may
 * have looked before this entry existed), wakes the list itself: no wait is ever missed.
 */
export async function waitForFlowSlot(ctx: HeraldContext, key: string, job: DeliveryJob): Promise<void> {
  const list = waitList(key);
  const messageId = waiterOf(job);
  // A position another process took the same millisecond: ask for the next one.
  for (let tries = 1; ; tries++) {
    if (await ctx.store.putQueueEntry(list, { seq: nextWaitListPosition(ctx.clock.now()), messageId })) break;
    if (tries === POSITION_TRIES) throw new Error(`no free wait-list position for ${messageId} in ${list}`);
  }
  await wakeWaiters(ctx, key);
}
const POSITION_TRIES = 5;

/**
 * When another run of attempt `job` holds its slot (its attempt in flight: this job is a duplicate, SQS's
 * or a queue turn given again), the time that hold goes stale, when this job should come back; undefined
 * when no live run holds it. A job that ends without an attempt must not free a live run's slot.
 */
export async function heldByAnotherRun(ctx: HeraldContext, key: string, job: DeliveryJob): Promise<number | undefined> {
  const state = (await ctx.store.getRecord<FlowControlState>("flowControl", key))?.value;
  const since = state ? liveHolders(state, ctx.clock.now() - staleAfterMs(ctx))[holderOf(job)] : undefined;
  return since === undefined ? undefined : since + staleAfterMs(ctx) + 1;
}

/**
 * Ends attempt `job`'s hold on a slot and wakes a waiter. An attempt of this process waiting for the
 * slot takes it over in the same write, ahead of the key's wait list: waking an entry instead sent the
 * run waiting here to the list too, and under a burst every attempt of the key went through the list
 * (architecture §15). The process's last release, with no run waiting here, wakes the list.
 */
export async function releaseFlowSlot(ctx: HeraldContext, key: string, job: DeliveryJob): Promise<void> {
  const holder = holderOf(job);
  const local = localSlots.obtain(ctx.store, key);
  const { holders: holds, waiters } = local;
  // Only a slot held here is handed over to a run waiting here: first to the next job of its lane, else
  // to a run of no lane or of a lane with no slot here (a lane with one keeps to it, see acquireFlowSlot).
  const held = holds.has(holder);
  const lane = holds.get(holder);
  holds.delete(holder);
  let at = -1;
  if (held) {
    at = lane === undefined ? -1 : waiters.findIndex((w) => w.lane === lane);
    if (at < 0) at = waiters.findIndex((w) => w.lane === undefined || w.counted || laneCount(local, w.lane) === 0);
  }
  const waiter = at >= 0 ? waiters.splice(at, 1)[0] : undefined;
  let handedOver = false;
  let roomLeft = false;
  local.releasing++;
  try {
    ({ handedOver, roomLeft } = await releaseOrHandOver(ctx, key, holder, waiter));
  } finally {
    // A waiter not given the slot (another was first, or the write failed) joins the wait list; one of a
    // lane tries on its own (acquireFlowSlot).
    if (waiter && handedOver) {
      holds.set(waiter.holder, waiter.lane);
      if (waiter.lane !== undefined && !waiter.counted) countLane(local, waiter.lane, 1);
    }
    if (held && lane !== undefined) countLane(local, lane, -1);
    local.releasing--;
    waiter?.handOver(handedOver ? "admitted" : "refused");
    letWaitersGo(local);
    pruneLocal(ctx, key);
  }
  // The freed slot was taken again: no one else can go, unless the hand-over dropped stale holds too.
  if (!handedOver || roomLeft) await wakeWaiters(ctx, key);
}

/**
 * Frees `holder`'s slot, or gives it to `waiter` in the same write (`handedOver`). `roomLeft`: slots are
 * still free after the hand-over (it dropped stale holds, or parallelism was raised), for the wait list.
 */
async function releaseOrHandOver(
  ctx: HeraldContext,
  key: string,
  holder: string,
  waiter: LocalWaiter | undefined,
): Promise<{ handedOver: boolean; roomLeft: boolean }> {
  const handing = waiter !== undefined;
  let handedOver = false;
  let roomLeft = false;
  await updateRecord<FlowControlState>(ctx, "flowControl", key, (current) => {
    handedOver = false;
    roomLeft = false;
    if (!current) return undefined;
    const { [holder]: released, ...holders } = current.holders;
    // A job whose waker kept it a slot and that ends without an attempt (cancelled, finished) gives it up.
    const { [holder]: kept, ...reserved } = liveReserved(current, ctx.clock.now());
    const freed =
      released === undefined && kept === undefined ? current : withReserved({ ...current, holders }, reserved);
    if (handing) {
      const now = ctx.clock.now();
      const decided = admit(freed, waiter.holder, now, staleAfterMs(ctx));
      if (decided.admission.admitted && decided.next) {
        handedOver = true;
        const max = decided.next.parallelismMax;
        roomLeft = max > 0 && occupied(decided.next, now, staleAfterMs(ctx)) < max;
        return decided.next;
      }
    }
    return freed === current ? undefined : freed;
  });
  return { handedOver, roomLeft };
}

/**
 * The sweep's part (sweep.ts): wakes the waiters of a key that has a free slot. Waiters are otherwise
 * woken by a later event on the key, which a crash can take away: a release or resume whose process died
 * before its wake-up, or a holder whose worker died and whose job then found the message cancelled (its
 * hold only expires). Cheap when there is nothing to do: the listed state says whether a slot is free.
 */
export async function wakeStrandedWaiters(ctx: HeraldContext, state: FlowControlState): Promise<void> {
  if (state.isPaused) return;
  if (state.parallelismMax > 0 && occupied(state, ctx.clock.now(), staleAfterMs(ctx)) >= state.parallelismMax) return;
  await wakeWaiters(ctx, state.key);
}

/** A key's wake-up running in this process, and whether another was asked for meanwhile. */
interface Waking {
  again: boolean;
  done: Promise<void>;
}
const wakings = processState<Waking>(() => ({ again: false, done: Promise.resolve() }));

/**
 * Wakes the key's waiters (below), one wake-up per key at a time in this process: a wake-up asked for
 * while one runs makes it run once more, after. Concurrent wake-ups read the same head of the wait list
 * and gave its waiters a job each — duplicate jobs that each cost a delivery and a slot's read and write.
 */
function wakeWaiters(ctx: HeraldContext, key: string): Promise<void> {
  const running = wakings.get(ctx.store, key);
  if (running) {
    running.again = true;
    return running.done;
  }
  const waking = wakings.obtain(ctx.store, key);
  waking.done = (async () => {
    try {
      do {
        waking.again = false;
        await wakeWaitersOnce(ctx, key);
      } while (waking.again);
    } finally {
      wakings.delete(ctx.store, key);
    }
  })();
  return waking.done;
}

/**
 * Gives jobs to as many waiters as there are free slots now (a batch when there is no limit), and keeps a
 * slot for each until its job arrives. Entries whose message no longer waits (cancel requested, finished,
 * gone) are dropped without using a slot — a cancel-requested one still gets a job, which ends it.
 *
 * The kept slots are one compare-and-set of the key's record for all the waiters woken (architecture
 * §15): wakers of other Lambda containers, which read the same head of the list, see the slots as taken
 * and the waiters as woken, so they neither wake more waiters than slots are free nor give a waiter a
 * second job; and a fresh job cannot take the slot from under the woken one, which would send the woken
 * job back to the list.
 */
async function wakeWaitersOnce(ctx: HeraldContext, key: string): Promise<void> {
  const list = waitList(key);
  for (let idle = 0; idle < WAKE_ROUNDS;) {
    const now = ctx.clock.now();
    const state = (await ctx.store.getRecord<FlowControlState>("flowControl", key))?.value ?? freshState(key, now);
    if (state.isPaused) return;
    const taken = { ...liveHolders(state, now - staleAfterMs(ctx)), ...liveReserved(state, now) };
    const free = state.parallelismMax > 0 ? state.parallelismMax - count(taken) : UNLIMITED_WAKE;
    if (free <= 0) return;
    // Entries of waiters woken already (by another waker, their entry not yet deleted) are read past.
    const limit = free + count(taken);
    const entries = await ctx.store.headQueueEntries(list, limit);
    const chosen: { seq: number; job: DeliveryJob }[] = [];
    let dropped = 0;
    const running = liveHolders(state, now - staleAfterMs(ctx));
    const seen = new Set<string>();
    for (const entry of entries) {
      if (chosen.length >= free) break;
      const waiter = parseWaiter(entry.messageId);
      if (waiter.retried >= 0) {
        // An entry of an attempt that runs, or a second one of an attempt (a duplicate job that parked
        // too), is dropped: read past, such entries would hold the read-ahead back from the waiters behind
        // them. The first entry of a woken waiter stays until its job runs (its waker drops it once sent;
        // should that waker die first, the entry is how the waiter is woken again).
        const holder = holderOf(waiter);
        if (running[holder] !== undefined || seen.has(holder)) {
          await ctx.store.deleteQueueEntry(list, entry.seq);
          dropped++;
          continue;
        }
        seen.add(holder);
      }
      if (waiter.retried >= 0 && taken[holderOf(waiter)] !== undefined) continue;
      const stored = await ctx.store.getMessage(waiter.messageId);
      const status = stored?.status.state;
      const recorded = stored?.status.retried ?? -1;
      // An entry from before entries named their attempt (-1) waits for the recorded one. The job of the
      // next attempt may wait before the status records the previous attempt's failure: it is current too.
      const job = waiter.retried < 0 ? { ...waiter, retried: recorded } : waiter;
      const current = stored !== undefined && (job.retried === recorded || job.retried === recorded + 1);
      if (current && (status === "CREATED" || status === "RETRY")) {
        // Read past a waiter woken already, and a second entry of one attempt.
        const holder = holderOf(job);
        if (taken[holder] === undefined && !chosen.some((c) => holderOf(c.job) === holder)) {
          chosen.push({ seq: entry.seq, job });
        }
        continue;
      }
      // A cancel-requested waiter's job ends it, with no slot; other entries wait for nothing.
      if (current && status === "CANCEL_REQUESTED") await ctx.dispatcher.dispatch(job, now);
      await ctx.store.deleteQueueEntry(list, entry.seq);
      dropped++;
    }
    const kept = await keepSlots(
      ctx,
      key,
      chosen.map((c) => holderOf(c.job)),
    );
    const unsent = chosen.filter((c) => kept.has(holderOf(c.job)));
    // Sent, then dropped: a crash in between gives the job, and the entry is read past while its slot
    // is kept or held (then dropped once the message has ended).
    try {
      for (const { seq, job } of [...unsent]) {
        await ctx.dispatcher.dispatch(job, now);
        unsent.shift();
        await ctx.store.deleteQueueEntry(list, seq);
      }
    } catch (error) {
      // The slots kept for jobs not sent are given up at once (the one that failed and those after it),
      // so the next wake-up gives their entries jobs, not the one after the kept slots lapse. Best
      // effort: the error is what is reported.
      await giveUpSlots(
        ctx,
        key,
        unsent.map((c) => holderOf(c.job)),
      ).catch(() => undefined);
      throw error;
    }
    // Done when every slot it saw free was kept, or the list has no more. Another round reads the record
    // and the list again: after dropping entries of messages that no longer wait, or when a concurrent
    // waker kept some of the same waiters (a few such rounds at most).
    if (kept.size >= free || entries.length < limit) return;
    idle = dropped > 0 ? 0 : idle + 1;
  }
}

/** Rounds in a row a wake-up makes without dropping an entry, at most (see wakeWaitersOnce). */
const WAKE_ROUNDS = 3;
/** Waiters a wake-up gives jobs to at once where the key has no parallelism limit (only a pause held them). */
const UNLIMITED_WAKE = 100;

/**
 * Keeps a slot for each of `holders` still free to be woken, in one write (none without a parallelism
 * limit: there is no slot to keep); answers the ones kept. Another waker may have kept some meanwhile.
 */
async function keepSlots(ctx: HeraldContext, key: string, holders: string[]): Promise<Set<string>> {
  if (holders.length === 0) return new Set();
  let kept = new Set<string>();
  await updateRecord<FlowControlState>(ctx, "flowControl", key, (current) => {
    kept = new Set();
    if (!current) {
      kept = new Set(holders); // no record, no slots to keep (a list only a record's pause could fill)
      return undefined;
    }
    if (current.isPaused) return undefined;
    const now = ctx.clock.now();
    const live = liveHolders(current, now - staleAfterMs(ctx));
    const reserved = liveReserved(current, now);
    // Without a parallelism limit a kept slot holds no one back: it only marks the waiter as woken.
    let free = current.parallelismMax > 0 ? current.parallelismMax - count(live) - count(reserved) : holders.length;
    for (const holder of holders) {
      if (free <= 0) break;
      if (live[holder] !== undefined || reserved[holder] !== undefined) continue;
      reserved[holder] = now;
      kept.add(holder);
      free--;
    }
    return kept.size > 0 ? withReserved({ ...current, holders: live }, reserved) : undefined;
  });
  return kept;
}

/** Gives up the slots kept for `holders` (their jobs were not sent). */
async function giveUpSlots(ctx: HeraldContext, key: string, holders: string[]): Promise<void> {
  await updateRecord<FlowControlState>(ctx, "flowControl", key, (current) => {
    const reserved = current ? liveReserved(current, ctx.clock.now()) : {};
    if (!current || !holders.some((holder) => reserved[holder] !== undefined)) return undefined;
    for (const holder of holders) delete reserved[holder];
    return withReserved(current, reserved);
  });
}

// ---- the /v2/flowControl API ---------------------------------------------------------------------

export async function flowControlView(ctx: HeraldContext, state: FlowControlState): Promise<Record<string, unknown>> {
  const now = ctx.clock.now();
  const periodOver = now >= state.ratePeriodStart + state.ratePeriod * 1000;
  return {
    flowControlKey: state.key,
    waitListSize: await ctx.store.countQueueEntries(waitList(state.key)),
    parallelismMax: state.parallelismMax,
    parallelismCount: Object.keys(liveHolders(state, now - staleAfterMs(ctx))).length,
    rateMax: state.rateMax,
    rateCount: periodOver ? 0 : state.rateCount,
    ratePeriod: state.ratePeriod,
    ratePeriodStart: Math.floor(state.ratePeriodStart / 1000),
    isPaused: state.isPaused,
    isPinnedParallelism: state.isPinnedParallelism,
    isPinnedRate: state.isPinnedRate,
  };
}

async function existing(ctx: HeraldContext, key: string): Promise<FlowControlState> {
  const stored = await ctx.store.getRecord<FlowControlState>("flowControl", key);
  if (!stored) throw notFound(`flow-control key "${key}" not found`);
  return stored.value;
}

export async function getFlowControl(ctx: HeraldContext, key: string): Promise<Record<string, unknown>> {
  return flowControlView(ctx, await existing(ctx, key));
}

export async function listFlowControl(ctx: HeraldContext, search: string | null): Promise<Record<string, unknown>[]> {
  const all = await ctx.store.listRecords<FlowControlState>("flowControl");
  const wanted = search ? all.filter((s) => s.key.includes(search)) : all;
  return Promise.all(wanted.map((s) => flowControlView(ctx, s)));
}

async function changeFlowControl(
  ctx: HeraldContext,
  key: string,
  change: (state: FlowControlState) => FlowControlState,
): Promise<void> {
  await existing(ctx, key);
  await updateRecord<FlowControlState>(ctx, "flowControl", key, (current) => (current ? change(current) : undefined));
  await wakeWaiters(ctx, key);
}

export const pauseFlowControl = (ctx: HeraldContext, key: string): Promise<void> =>
  changeFlowControl(ctx, key, (s) => ({ ...s, isPaused: true }));

export const resumeFlowControl = (ctx: HeraldContext, key: string): Promise<void> =>
  changeFlowControl(ctx, key, (s) => ({ ...s, isPaused: false }));

export const resetFlowControlRate = (ctx: HeraldContext, key: string): Promise<void> =>
  changeFlowControl(ctx, key, (s) => ({ ...s, rateCount: 0, ratePeriodStart: ctx.clock.now() }));

/** `pin?parallelism=&rate=&period=`: the given values hold until unpinned; pinning restarts the rate period. */
export async function pinFlowControl(ctx: HeraldContext, key: string, params: URLSearchParams): Promise<void> {
  const int = (name: string): number | undefined => {
    const raw = params.get(name);
    if (raw === null || raw === "") return undefined;
    if (!/^\d{1,7}$/.test(raw)) throw badRequest(`invalid ${name} "${clip(raw)}": a non-negative integer`);
    return Number(raw);
  };
  const parallelism = int("parallelism");
  const rate = int("rate");
  const period = int("period");
  if (period !== undefined && (period < 1 || period > MAX_PERIOD_SEC)) {
    throw badRequest("period must be between 1 and 604800 seconds");
  }
  await changeFlowControl(ctx, key, (s) => {
    const next = { ...s };
    if (parallelism !== undefined) Object.assign(next, { parallelismMax: parallelism, isPinnedParallelism: true });
    if (rate !== undefined || period !== undefined) {
      Object.assign(next, {
        rateMax: rate ?? s.rateMax,
        ratePeriod: period ?? s.ratePeriod,
        isPinnedRate: true,
        rateCount: 0,
        ratePeriodStart: ctx.clock.now(),
      });
    }
    return next;
  });
}

/** `unpin?parallelism=true&rate=true`: the pinned values stay until a message brings other ones. */
export async function unpinFlowControl(ctx: HeraldContext, key: string, params: URLSearchParams): Promise<void> {
  const flag = (name: string): boolean => params.get(name)?.toLowerCase() === "true";
  await changeFlowControl(ctx, key, (s) => ({
    ...s,
    isPinnedParallelism: flag("parallelism") ? false : s.isPinnedParallelism,
    isPinnedRate: flag("rate") ? false : s.isPinnedRate,
  }));
}

/** `GET /v2/globalParallelism`: the deployment's cap and the flow-controlled attempts in flight. */
export async function globalParallelism(ctx: HeraldContext): Promise<Record<string, number>> {
  const now = ctx.clock.now();
  const all = await ctx.store.listRecords<FlowControlState>("flowControl");
  const count = all.reduce((n, s) => n + Object.keys(liveHolders(s, now - staleAfterMs(ctx))).length, 0);
  return { parallelismMax: ctx.config.maxConcurrentDeliveries, parallelismCount: count };
}
