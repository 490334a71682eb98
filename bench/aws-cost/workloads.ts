// The workloads: each publishes its messages through the API, waits until the sink has every delivery and
// the queue is empty, and is summarized from what its own meter counted. They run twice: with deliveries in
// full batches of ten (steady load), then with one message per delivery batch (a trickle). Then one firing
// of the sweep.
import { SWEEP_INTERVAL_MS } from "../../lambdas/core/sweep.ts";
import type { CostHarness } from "./harness.ts";
import { Meter, utf8 } from "./meter.ts";
import { round, summarize } from "./pricing.ts";
import type { DeliveryMode, WorkloadName, WorkloadResult } from "./result.ts";
import type { StackFacts } from "./stack.ts";

export const JSON_HEADERS = { "Content-Type": "application/json" };

/** A JSON body of exactly `bytes` bytes (1 KiB unless given). */
export function jsonBody(i: number, bytes = 1024): string {
  const head = JSON.stringify({ id: i, payload: "" });
  return JSON.stringify({ id: i, payload: "x".repeat(bytes - utf8(head)) });
}

export async function pool<T>(items: T[], concurrency: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await run(items[next++] as T);
    }),
  );
}

const range = (count: number) => Array.from({ length: count }, (_, i) => i);

/** The sink's key of a workload in a pass (the trickle pass counts its deliveries apart). */
export const sinkKey = (name: WorkloadName, mode: DeliveryMode): string => (mode === "steady" ? name : `${name}.t`);

export async function runWorkloads(
  run: CostHarness,
  counts: Record<WorkloadName, number>,
  facts: StackFacts,
  timeout: number,
  mode: DeliveryMode,
): Promise<Record<WorkloadName, WorkloadResult>> {
  const { herald: h, sink } = run;
  const call = run.call.bind(run);
  const url = (name: WorkloadName, kind: string, i: number) => run.url(sinkKey(name, mode), kind, i);
  const json = JSON_HEADERS;
  const workloads = {} as Record<WorkloadName, WorkloadResult>;
  const concurrency = 4;
  // A trickle: the event source mapping's stand-in receives one message at a time, so every delivery
  // batch holds one message whatever the backlog (each is its own invocation, receive and delete).
  run.deliveryBatchCap = mode === "trickle" ? 1 : undefined;
  // Steady: the jobs a workload makes later (retries, callbacks, delayed jobs, a schedule's messages) come
  // in full batches too, as under steady load (delivery-batches.ts).
  run.steadyBatches = mode === "steady";
  const tag = mode === "steady" ? "" : " (trickle)";

  const measure = async (
    name: WorkloadName,
    description: string,
    expectedDeliveries: number,
    publish: () => Promise<number>,
    messages?: number,
    deliveries = () => sink.count(sinkKey(name, mode)),
  ) => {
    const key = sinkKey(name, mode);
    const before = await run.tableBytes();
    const m = new Meter();
    run.meter = m;
    const t0 = performance.now();
    const published = await publish();
    const hops = await run.drainedLate(key, expectedDeliveries, timeout, deliveries);
    const wall = performance.now() - t0;
    run.meter = new Meter(); // traffic between workloads (idle polling) goes nowhere
    const after = await run.tableBytes();
    const stored = after.total - before.total;
    m.stepLogStoredBytes = after.stepLog - before.stepLog;
    const delivered = deliveries();
    // Per message published (a duplicate delivery is a cost, not a message; a callback is part of its message).
    const priced = messages ?? expectedDeliveries;
    workloads[name] = summarize(description, m, facts, published, delivered, stored, wall, mode, priced);
    const w = workloads[name];
    if (hops > 0) w.clock_hops = hops;
    if (delivered > expectedDeliveries) w.duplicate_deliveries = delivered - expectedDeliveries;
    run.say(
      `aws-cost: ${(name + tag).padEnd(21)} ${String(w.delivered).padStart(5)} delivered in ${w.wall_ms} ms: ` +
        `$${w.per_million.total.toFixed(2)} per million ($${w.per_million.total_at_aws_latency.toFixed(2)} at AWS latency)`,
    );
  };

  // A Lambda invocation has its CPU to itself; here every invocation shares one process. So publishes whose
  // deliveries need nothing from them are measured on their own, one at a time (their billed time is not
  // inflated by deliveries running beside them), and the backlog is then drained in full batches — what
  // the event source mapping takes from a queue under steady load (or one at a time, at a trickle).
  const apart = async <T>(publish: () => Promise<T>): Promise<T> => {
    await h.deliveries.pause();
    try {
      return await publish();
    } finally {
      h.deliveries.resume();
    }
  };

  /** `count` publishes of 1 KiB (or `bytes`) to the workload's sink, one at a time, measured apart. */
  const publishAlone = (name: WorkloadName, headers: Record<string, string> = {}, bytes = 1024) =>
    apart(async () => {
      await pool(range(counts[name]), 1, async (i) => {
        await call("POST", `/v2/publish/${url(name, "ok", i)}`, jsonBody(i, bytes), { ...json, ...headers });
      });
      return counts[name];
    });

  // The default, then the opt-in lean mode (README, "Message records on AWS"): the same publishes, carried
  // in their jobs; the emulated stack is redeployed with the other setting for it.
  // A redeployment's first invocations are cold (their key reads, first connections): warmed up
  // uncounted, as the run's start is, so that a steady-load figure holds no cold start.
  const redeploy = async (env: Record<string, string>): Promise<void> => {
    h.redeploy(env);
    const key = `redeploy-${env.HERALD_MESSAGE_RECORDS}-${mode}`;
    await pool(range(2), 2, async (i) => {
      await call("POST", `/v2/publish/${run.url(key, "ok", i)}`, jsonBody(i), json);
    });
    await run.drained(key, 2, timeout);
  };
  for (const [name, records, description] of [
    ["single", "full", "1 KB JSON published alone, delivered first try"],
    ["single_lean", "lean", "as single, with messageRecords: lean (no record)"],
  ] as const) {
    if (records === "lean") await redeploy({ HERALD_MESSAGE_RECORDS: records });
    await measure(name, description, counts[name], () => publishAlone(name));
  }
  await redeploy({ HERALD_MESSAGE_RECORDS: "full" });

  await measure("body32k", "32 KiB JSON published alone, delivered first try", counts.body32k, () =>
    publishAlone("body32k", {}, 32 * 1024),
  );

  await measure("batch100", "1 KB JSON bodies published 100 per /v2/batch call", counts.batch100, () =>
    apart(async () => {
      for (let start = 0; start < counts.batch100; start += 100) {
        const entries = range(Math.min(100, counts.batch100 - start)).map((k) => ({
          destination: url("batch100", "ok", start + k),
          headers: { "content-type": "application/json" },
          body: jsonBody(start + k),
        }));
        await call("POST", "/v2/batch", JSON.stringify(entries), json);
      }
      return counts.batch100;
    }),
  );

  const group = `bench-fanout-${mode}`;
  await call(
    "POST",
    `/v2/topics/${group}/endpoints`,
    JSON.stringify({ endpoints: ["a", "b", "c"].map((e) => ({ url: url("fanout3", e, 0) })) }),
    json,
  );
  await measure("fanout3", "1 KB JSON published to a URL group of 3 endpoints", counts.fanout3 * 3, () =>
    apart(async () => {
      await pool(range(counts.fanout3), 1, async (i) => {
        await call("POST", `/v2/publish/${group}`, jsonBody(i), json);
      });
      return counts.fanout3;
    }),
  );

  for (const [name, queue, parallelism] of [
    ["fifo", "bench-queue", 1],
    ["queue10", "bench-queue10", 10],
  ] as const) {
    // A busy queue: the backlog is drained in full FIFO batches (ten of a lane per receive).
    await measure(name, `1 KB JSON enqueued to a queue (parallelism ${parallelism})`, counts[name], () =>
      apart(async () => {
        await pool(range(counts[name]), concurrency, async (i) => {
          await call("POST", `/v2/enqueue/${queue}/${url(name, "ok", i)}`, jsonBody(i), json);
        });
        return counts[name];
      }),
    );
  }

  await measure(
    "flowcontrol",
    "1 KB JSON published alone with Upstash-Flow-Control-Key and Upstash-Flow-Control-Value: parallelism=5",
    counts.flowcontrol,
    () =>
      publishAlone("flowcontrol", {
        "Upstash-Flow-Control-Key": `bench-flow-${mode}`,
        "Upstash-Flow-Control-Value": "parallelism=5",
      }),
  );

  // Each message and its callback are delivered to the sink: two deliveries, priced as one message.
  await measure(
    "callback",
    "1 KB JSON published alone with Upstash-Callback; the message and its callback delivered (priced per message)",
    counts.callback * 2,
    () =>
      apart(async () => {
        await pool(range(counts.callback), 1, async (i) => {
          await call("POST", `/v2/publish/${url("callback", "ok", i)}`, jsonBody(i), {
            ...json,
            "Upstash-Callback": url("callback", "cb", i),
          });
        });
        return counts.callback;
      }),
    counts.callback,
  );

  await measure(
    "retry1",
    "1 KB JSON whose first attempt gets a 500, retried once after 1 s, then 200",
    counts.retry1,
    async () => {
      await pool(range(counts.retry1), concurrency, async (i) => {
        await call("POST", `/v2/publish/${url("retry1", "retry", i)}`, jsonBody(i), {
          ...json,
          "Upstash-Retries": "1",
          "Upstash-Retry-Delay": "1000",
        });
      });
      return counts.retry1;
    },
  );

  await measureSchedules(run, counts.schedule, mode, timeout, (publish) =>
    measure(
      "schedule",
      "one firing of a schedule (Upstash-Cron, 1 KB JSON) delivering one message: the Scheduler invocation, " +
        "the firing's delivery invocation and the message it publishes",
      counts.schedule,
      () => apart(publish),
    ),
  );

  await measureWorkflow(run, counts.workflow, mode, timeout, apart, (publish, deliveries) =>
    measure(
      "workflow",
      `a workflow run with the official SDK (1 KB payload; ${WORKFLOW_STEPS - 1} context.run steps returning ` +
        `1 KB, 1 context.sleep of 1 s): trigger, a publish per step, the end-of-run DELETE, ` +
        `${WORKFLOW_STEPS + 1} deliveries each carrying the step log (priced per step, ${WORKFLOW_STEPS} per run)`,
      counts.workflow * (WORKFLOW_STEPS + 1),
      publish,
      counts.workflow * WORKFLOW_STEPS,
      deliveries,
    ),
  );
  const wf = workloads.workflow;
  wf.per_run = {
    runs: counts.workflow,
    steps_per_run: WORKFLOW_STEPS,
    usd_per_million_runs: round(wf.per_million.total * WORKFLOW_STEPS, 4),
    usd_per_million_runs_at_aws_latency: round(wf.per_million.total_at_aws_latency * WORKFLOW_STEPS, 4),
  };

  // Last: it moves the clock forward two hours (everything in this process, fauxqs included, reads Date.now).
  await measure(
    "delay2h",
    "1 KB JSON with Upstash-Delay: 2h (Scheduler fires a minute early, SQS DelaySeconds does the rest)",
    counts.delay2h,
    async () => {
      await pool(range(counts.delay2h), concurrency, async (i) => {
        await call("POST", `/v2/publish/${url("delay2h", "ok", i)}`, jsonBody(i), { ...json, "Upstash-Delay": "2h" });
      });
      const publishedBy = Date.now();
      const twoHours = 2 * 3_600_000;
      // 1. Jump to a second past the latest one-time schedule (due minus 60 s) and fire what is due, as
      //    Scheduler would; the delivery handler finds each job a minute early and sends it on with DelaySeconds.
      run.clock?.jumpTo(publishedBy + twoHours - 59_000);
      // The jump makes the stack's sweep due too: it fires apart (its jobs wait in Scheduler meanwhile).
      await run.fireSweepApart(Date.now(), timeout);
      await h.runDueSchedulesOf("oneTime", Date.now());
      await run.settle(
        () => "the early jobs to be sent on",
        async () => {
          const q = await run.queueDepth();
          return q.visible + q.inFlight === 0 && q.delayed >= counts.delay2h;
        },
        timeout,
      );
      // 2. Jump past the due times: the delayed jobs become visible and are delivered.
      run.clock?.jumpTo(publishedBy + twoHours + 5_000);
      return counts.delay2h;
    },
  );
  run.deliveryBatchCap = undefined;
  run.steadyBatches = false;
  return workloads;
}

/** Steps of the bench's workflow: context.run, context.run, context.sleep, context.run. */
export const WORKFLOW_STEPS = 4;

/**
 * The workflow workload: `count` runs of one workflow served by the official `@upstash/workflow` SDK
 * (test/support/workflow-app.ts; outside AWS: the customer's endpoint, whose compute is not priced),
 * triggered with its Workflow client. Every request the SDK makes to Herald (the trigger, a publish per
 * step, the DELETE that ends the run) goes through the harness's counting proxy: API Gateway bills them.
 * A run is its trigger's delivery and one per step, each answered 200; the last one ends the run.
 */
async function measureWorkflow(
  run: CostHarness,
  count: number,
  mode: DeliveryMode,
  timeout: number,
  apart: <T>(publish: () => Promise<T>) => Promise<T>,
  measure: (publish: () => Promise<number>, deliveries: () => number) => Promise<void>,
): Promise<void> {
  const { app, client } = await run.workflow();
  const path = `/wf/bench-${mode}`;
  const result = (i: number, step: number) => JSON.parse(jsonBody(i * 10 + step)) as unknown;
  app.route<{ id: number }>(path, async (context) => {
    const i = context.requestPayload.id;
    await context.run("first", async () => result(i, 1));
    await context.run("second", async () => result(i, 2));
    await context.sleep("nap", 1);
    await context.run("third", async () => result(i, 3));
  });
  const url = `${app.url}${path}`;
  const answered = () => app.received.filter((call) => call.path === path && call.status === 200).length;
  // One run at a time: the SDK's publishes run inside the deliveries (the app answers once its step is
  // published), so concurrent runs in this one process inflate every invocation's billed time several times.
  await measure(async () => {
    for (const i of range(count)) {
      await apart(() => client.trigger({ url, body: JSON.parse(jsonBody(i)) as unknown }));
      const deliveries = (i + 1) * (WORKFLOW_STEPS + 1);
      await run.settle(
        () => `run ${i} of the workflow (${answered()} of ${deliveries} deliveries)`,
        async () => answered() >= deliveries,
        timeout,
      );
    }
    return count * (WORKFLOW_STEPS + 1);
  }, answered);
}

/**
 * The schedule workload: `count` schedules (1 KB JSON to the sink) whose one firing each is measured.
 * Their cron names a minute T a couple of minutes ahead, off the sweep's five-minute grid, and the minute
 * after it (so T is not their last firing, as for any schedule that keeps firing); the sweep is fired
 * first (not counted) at T - 30 s if it is due by then, so that firing everything due at T (as Scheduler
 * would at T) sends only the schedules' firings. Each fires once (message ids derive from the schedule and
 * the minute), and they are deleted after, before T + 1.
 */
async function measureSchedules(
  run: CostHarness,
  count: number,
  mode: DeliveryMode,
  timeout: number,
  measure: (publish: () => Promise<number>) => Promise<void>,
): Promise<void> {
  const h = run.herald;
  const minute = 60_000;
  let at = Math.ceil((Date.now() + 2 * minute) / minute) * minute;
  // Off the sweep's grid, and not an hour's last minute: the cron names T and the minute after it, so the
  // measured firing is not its schedule's last (a schedule whose next firing is far off also writes a
  // firing record: architecture §17).
  while (at % SWEEP_INTERVAL_MS === 0 || new Date(at).getUTCMinutes() === 59) at += minute;
  const t = new Date(at);
  const m = t.getUTCMinutes();
  const cron = `${m}-${m + 1} ${t.getUTCHours()} ${t.getUTCDate()} ${t.getUTCMonth() + 1} *`;
  const ids = range(count).map((i) => `bench-${mode}-${i}`);
  await pool(range(count), 4, async (i) => {
    const destination = run.url(sinkKey("schedule", mode), "ok", i);
    await run.call("POST", `/v2/schedules/${destination}`, jsonBody(i), {
      ...JSON_HEADERS,
      "Upstash-Cron": cron,
      "Upstash-Schedule-Id": ids[i] as string,
    });
  });
  await run.fireSweepApart(at - 30_000, timeout); // the sweep, if due before T
  await measure(async () => {
    await h.runDueSchedules(at);
    return count;
  });
  await pool(ids, 4, async (id) => {
    await run.call("DELETE", `/v2/schedules/${id}`);
  });
}

/**
 * The recurring sweep (lambdas/core/sweep.ts) runs in an idle deployment too: one firing of its schedule,
 * measured like a workload (the deployment holds the bench's queue: one more head read than an empty one).
 */
export async function measureSweep(run: CostHarness, timeout: number): Promise<Meter> {
  const sweepMeter = new Meter();
  run.meter = sweepMeter;
  await run.herald.runDueSchedules(Date.now() + 5 * 60_000);
  await run.settle(
    () => "the sweep's firing",
    async () => {
      if (sweepMeter.lambda.deliver.invocations === 0) return false;
      const q = await run.queueDepth();
      return q.visible + q.inFlight + q.delayed === 0;
    },
    timeout,
  );
  run.meter = new Meter();
  return sweepMeter;
}
