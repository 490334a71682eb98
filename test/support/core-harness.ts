// A core context on the store under test, for the contract specs that drive core directly: a clock the
// test moves, and doubles of the outside world (the job queue, the destinations, the keys) that record
// what core sends them and fail or hold on demand.
import { AsyncLocalStorage } from "node:async_hooks";
import { DEFAULT_CONFIG, type HeraldConfig } from "../../lambdas/core/config.ts";
import type { HeraldContext } from "../../lambdas/core/context.ts";
import { deliverMessage, type DeliverOptions, type DeliveryOutcome } from "../../lambdas/core/deliver.ts";
import type { Message } from "../../lambdas/core/message.ts";
import { ANY_DESTINATION } from "../../lambdas/core/destination-policy.ts";
import { publish, type PublishResult } from "../../lambdas/core/publish.ts";
import type { Clock, DeliveryJob, Dispatcher, LoggedEvent, OutgoingRequest, SendOutcome } from "../../lambdas/ports.ts";
import type { StoreFixture } from "../contract/store.spec.ts";

export const START = 1_950_000_000_000;

export interface CoreFixture extends StoreFixture {
  /**
   * Writes the log events a store keeps back (DynamoStore with `deferEvents`, as in production); the
   * harness calls it where the Lambda handlers do: once each invocation (an API call, a delivery) ends.
   */
  flushEvents?(): Promise<void>;
}

/** Opens a fresh store on the harness's clock. */
export type OpenCoreFixture = (clock: Clock) => Promise<CoreFixture>;

export class ProcessDied extends Error {}

/** A clock the test moves by hand. */
export class ManualClock implements Clock {
  private time: number;
  constructor(start = START) {
    this.time = start;
  }
  now(): number {
    return this.time;
  }
  advance(ms: number): void {
    this.time += ms;
  }
}

export interface HarnessOptions {
  clock?: ManualClock;
  config?: Partial<HeraldConfig>;
  /** The dispatcher orders queues in lanes (as the SQS FIFO queue does: one job of a lane at a time). */
  ordersQueues?: boolean;
  /** The dispatcher can carry messages in their jobs (as SQS does). */
  carriesMessages?: boolean;
}

/** What the destination answers (a promise keeps the attempt in flight until it settles). */
export type Reply = (request: OutgoingRequest) => SendOutcome | Promise<SendOutcome>;

export const answer = (status: number, body = ""): SendOutcome => ({
  kind: "response",
  status,
  header: {},
  body: new TextEncoder().encode(body),
});

/** An attempt held in flight at the destination until the test answers it. */
export interface HeldAttempt {
  /** Resolves once the request reached the destination. */
  sent: Promise<OutgoingRequest>;
  respond(outcome: SendOutcome): void;
}

interface Hold {
  path: string;
  arrived: (request: OutgoingRequest) => void;
  answer: Promise<SendOutcome>;
  /** Reached by a run of runJobs, which counts it as waiting until answered. */
  pooled?: boolean;
}

/** A header of a request core sent, by case-insensitive name. */
export function headerOf(request: OutgoingRequest | undefined, name: string): string | undefined {
  const found = Object.entries(request?.headers ?? {}).find(([key]) => key.toLowerCase() === name.toLowerCase());
  return found?.[1];
}

export type CoreHarness = ReturnType<typeof harness>;

/** A core context on the fixture's store, with a recording dispatcher and sender. */
export function harness(fixture: CoreFixture, options: HarnessOptions = {}) {
  const clock = options.clock ?? new ManualClock();
  let dying = false;
  // After a death, the dead process's remaining calls fail: it writes nothing more (core's own recovery
  // code, e.g. giving a turn back when its dispatch failed, cannot run in a process that is gone).
  let dead = false;
  let failing: { messageId?: string; error: string } | undefined;
  const jobs: DeliveryJob[] = [];
  const dueAt = new WeakMap<DeliveryJob, number>();
  const delivered: string[] = [];
  const requests: OutgoingRequest[] = [];
  const holds: Hold[] = [];
  let reply: Reply = () => answer(200);
  // Something changed for runJobs: a job was dispatched, a run settled or reached a held destination.
  let changed: () => void = () => undefined;
  const inPool = new AsyncLocalStorage<boolean>();
  let heldInPool = 0;

  // Lanes (dispatchOrdered): jobs in send order per lane; a lane's head runs only when no job of the lane
  // runs, and a run that failed leaves its job at the head (SQS FIFO gives it again).
  const lanes = new Map<string, DeliveryJob[]>();
  const busyLanes = new Set<string>();
  // A lane whose run failed gives its job again only in a later runJobs call (SQS: after the visibility timeout).
  const failedLanes = new Set<string>();
  const dispatcher: Dispatcher = {
    ...(options.carriesMessages ? { carriesMessages: true } : {}),
    ...(options.ordersQueues
      ? {
          async dispatchOrdered(job: DeliveryJob, lane: string) {
            if (dying) {
              dying = false;
              dead = true;
              throw new ProcessDied("the process died before its job was sent");
            }
            lanes.set(lane, [...(lanes.get(lane) ?? []), job]);
            changed();
          },
        }
      : {}),
    async dispatch(job, due) {
      if (failing && (failing.messageId === undefined || failing.messageId === job.messageId)) {
        const { error } = failing;
        failing = undefined;
        throw new Error(error);
      }
      if (dying) {
        dying = false;
        dead = true;
        throw new ProcessDied("the process died before its job was sent");
      }
      jobs.push(job);
      dueAt.set(job, due);
      changed();
    },
  };
  const store = new Proxy(fixture.store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (dead) throw new ProcessDied("the process is dead");
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const ctx: HeraldContext = {
    store,
    dispatcher,
    clock,
    config: { ...DEFAULT_CONFIG, ...options.config },
    keys: {
      apiTokens: async () => [],
      signingKeys: async () => ({ current: "sig_current", next: "sig_next" }),
      rotateSigningKeys: async () => ({ current: "sig_current", next: "sig_next" }),
    },
    sender: {
      async send(request) {
        const path = new URL(request.url).pathname;
        delivered.push(path);
        requests.push(request);
        const index = holds.findIndex((h) => h.path === path);
        if (index < 0) return reply(request);
        const [hold] = holds.splice(index, 1) as [Hold];
        hold.pooled = inPool.getStore() === true;
        if (hold.pooled) heldInPool++;
        hold.arrived(request);
        changed();
        return hold.answer;
      },
    },
    cron: { upsert: async () => undefined, remove: async () => undefined },
  };
  const flush = async (): Promise<void> => fixture.flushEvents?.();
  /** Runs `operation` as one invocation of a handler: the deferred log events are written when it ends. */
  async function invoke<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } finally {
      await flush();
    }
  }
  const deliver = (job: DeliveryJob, options?: DeliverOptions): Promise<DeliveryOutcome> =>
    invoke(() => deliverMessage(ctx, job, options));

  const running = new Set<Promise<void>>();
  const errors: unknown[] = [];
  /** Due jobs, and the head of every lane with no run going (marked busy until its run ends). */
  function takeDue(): { job: DeliveryJob; lane?: string }[] {
    const due = jobs.filter((job) => (dueAt.get(job) ?? 0) <= clock.now());
    for (const job of due) jobs.splice(jobs.indexOf(job), 1);
    const taken: { job: DeliveryJob; lane?: string }[] = due.map((job) => ({ job }));
    for (const [lane, queued] of lanes) {
      const head = queued[0];
      if (!head || busyLanes.has(lane) || failedLanes.has(lane)) continue;
      busyLanes.add(lane);
      taken.push({ job: { ...head, ordered: true }, lane });
    }
    return taken;
  }
  /** A lane's run ended: its job leaves the lane unless the run failed (then SQS would give it again). */
  function laneRunEnded(lane: string, ok: boolean): void {
    busyLanes.delete(lane);
    if (ok) lanes.get(lane)?.shift();
    else failedLanes.add(lane);
  }

  let count = 0;
  const message = (path: string, extra: Partial<Message> = {}): Message => ({
    messageId: `msg_test_${START}_${++count}`,
    url: `https://receiver.example${path}`,
    method: "POST",
    header: {},
    body: new TextEncoder().encode(path),
    maxRetries: 0,
    labels: [],
    notBefore: clock.now(),
    createdAt: clock.now(),
    ...extra,
  });
  return {
    ctx,
    clock,
    /** Jobs dispatched and not yet run, in dispatch order. */
    jobs,
    /** Jobs sent into lanes (dispatchOrdered) and not yet run, per lane. */
    lanes,
    /** The path of every request sent to a destination, in order. */
    delivered,
    requests,
    message,
    advance: (ms: number) => clock.advance(ms),
    invoke,
    /** One delivery job's run, as a delivery worker does it. */
    deliver,
    /** How the destinations answer from now on (200 until told). */
    respondWith: (next: Reply) => void (reply = next),
    /** From now on the destination at `path` answers 500 the first time, then 200 (as every other does). */
    failsOnce(path: string): void {
      let failures = 1;
      reply = (request) => (new URL(request.url).pathname === path && failures-- > 0 ? answer(500) : answer(200));
    },
    /** Holds the next request to `path` in flight until the test answers it. */
    hold(path: string): HeldAttempt {
      let arrived!: (request: OutgoingRequest) => void;
      let answered!: (outcome: SendOutcome) => void;
      const sent = new Promise<OutgoingRequest>((resolve) => (arrived = resolve));
      const hold: Hold = { path, arrived, answer: new Promise<SendOutcome>((resolve) => (answered = resolve)) };
      holds.push(hold);
      return {
        sent,
        respond(outcome) {
          // Counted off now: the run goes on, and a runJobs called next must wait for it.
          if (hold.pooled) heldInPool--;
          hold.pooled = false;
          answered(outcome);
        },
      };
    },
    /** The next dispatch (of `messageId`'s job, if given) fails with `error`; the process lives on. */
    failNextDispatch: (messageId?: string, error = "SQS answered 503 after the SDK's retries") =>
      void (failing = { ...(messageId === undefined ? {} : { messageId }), error }),
    /**
     * Runs `operation` in a process that dies at its next dispatch (between a turn's claim and its job's
     * send): it rejects with ProcessDied, and nothing after the death reaches the store.
     */
    async diesAtDispatch(operation: () => Promise<unknown>): Promise<void> {
      dying = true;
      try {
        await operation();
      } finally {
        dying = false;
        dead = false; // the next calls are the restarted process's
      }
    },
    /** Runs every job sent so far, and those they send, one after another, whatever their due times. */
    async drain(): Promise<void> {
      for (;;) {
        const job = jobs.shift();
        if (job) {
          await deliver(job);
          continue;
        }
        const lane = [...lanes].find(([, queued]) => queued.length > 0);
        if (!lane) return;
        await deliver({ ...(lane[1][0] as DeliveryJob), ordered: true });
        lane[1].shift();
      }
    },
    /**
     * Runs the jobs that are due, each as soon as it is sent, concurrently (as a pool of delivery workers
     * does), until none is due and every run still going waits at a held destination. Jobs due later stay
     * in `jobs`. Rethrows the first run that failed. One call at a time.
     */
    async runJobs(): Promise<void> {
      failedLanes.clear();
      for (;;) {
        for (const { job, lane } of takeDue()) {
          const run: Promise<void> = inPool
            .run(true, () => deliver(job))
            .then(
              () => (lane === undefined ? undefined : laneRunEnded(lane, true)),
              (error: unknown) => {
                if (lane !== undefined) laneRunEnded(lane, false);
                errors.push(error);
              },
            )
            .finally(() => {
              running.delete(run);
              changed();
            });
          running.add(run);
        }
        if (errors.length > 0) throw errors.shift();
        if (running.size === heldInPool) return;
        await new Promise<void>((resolve) => (changed = resolve));
        changed = () => undefined;
      }
    },
  };
}

/** A test body on a fresh store and harness, closed after it. */
export function withHarness(
  open: OpenCoreFixture,
  options: Omit<HarnessOptions, "clock">,
  test: (h: CoreHarness) => Promise<void>,
): () => Promise<void> {
  return async () => {
    const clock = new ManualClock();
    const fixture = await open(clock);
    try {
      await test(harness(fixture, { ...options, clock }));
    } finally {
      await fixture.close();
    }
  };
}

/** Where the harness's destination lives: every spec publishes to a path under it. */
export const RECEIVER = "https://receiver.example";

/**
 * `POST /v2/publish/<RECEIVER><path>` (or `/v2/enqueue/<queue>/…` with `queueName`), as one API
 * invocation; header names arrive lower-cased, as over HTTP. Returns the message id.
 */
export async function publishTo(
  h: CoreHarness,
  path: string,
  options: { headers?: Record<string, string>; queueName?: string; body?: string } = {},
): Promise<string> {
  const headers = Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const response = await h.invoke(() =>
    publish(h.ctx, {
      destination: `${RECEIVER}${path}`,
      rawQuery: "",
      headers,
      body: new TextEncoder().encode(options.body ?? path),
      ...(options.queueName === undefined ? {} : { queueName: options.queueName }),
    }),
  );
  return (response.body as PublishResult).messageId;
}

/** The attempts the destination received at `path`. */
export const deliveredTo = (h: CoreHarness, path: string): string[] => h.delivered.filter((p) => p === path);

/** A test on the local server's settings: a 15-minute longest attempt, any destination. */
export const withLocalSettings =
  (open: OpenCoreFixture) =>
  (body: (h: CoreHarness) => Promise<void>): (() => Promise<void>) =>
    withHarness(open, { config: { destinations: ANY_DESTINATION } }, body);

/** The message's log, oldest first, once the events the harness's store holds back are written. */
export async function logOf(h: CoreHarness, messageId: string): Promise<LoggedEvent[]> {
  await h.ctx.store.flushEvents?.();
  const out: LoggedEvent[] = [];
  for await (const { item } of h.ctx.store.scanEvents({ order: "earliestFirst", messageIds: [messageId] })) {
    out.push(item);
  }
  return out;
}
