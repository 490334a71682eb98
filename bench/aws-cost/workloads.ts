// The workloads: each publishes its messages through the API, waits until the sink has every delivery and
// the queue is empty, and is summarized from what its own meter counted. Then one firing of the sweep.
import type { CostHarness } from "./harness.ts";
import { Meter, utf8 } from "./meter.ts";
import { summarize } from "./pricing.ts";
import type { WorkloadName, WorkloadResult } from "./result.ts";
import type { StackFacts } from "./stack.ts";

export const JSON_HEADERS = { "Content-Type": "application/json" };

/** A 1 KB JSON body (exactly 1024 bytes). */
export function jsonBody(i: number): string {
  const head = JSON.stringify({ id: i, payload: "" });
  return JSON.stringify({ id: i, payload: "x".repeat(1024 - utf8(head)) });
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

export async function runWorkloads(
  run: CostHarness,
  counts: Record<WorkloadName, number>,
  facts: StackFacts,
  timeout: number,
): Promise<Record<WorkloadName, WorkloadResult>> {
  const { herald: h, sink } = run;
  const call = run.call.bind(run);
  const url = run.url.bind(run);
  const json = JSON_HEADERS;
  const workloads = {} as Record<WorkloadName, WorkloadResult>;
  const concurrency = 4;

  const measure = async (
    name: WorkloadName,
    description: string,
    expectedDeliveries: number,
    publish: () => Promise<number>,
  ) => {
    const before = await run.tableBytes();
    const m = new Meter();
    run.meter = m;
    const t0 = performance.now();
    const published = await publish();
    await run.drained(name, expectedDeliveries, timeout);
    const wall = performance.now() - t0;
    run.meter = new Meter(); // traffic between workloads (idle polling) goes nowhere
    const stored = (await run.tableBytes()) - before;
    workloads[name] = summarize(description, m, facts, published, sink.count(name), stored, wall);
    const w = workloads[name];
    run.say(
      `aws-cost: ${name.padEnd(11)} ${String(w.delivered).padStart(5)} delivered in ${w.wall_ms} ms: ` +
        `$${w.per_million.total.toFixed(2)} per million ($${w.per_million.total_at_aws_latency.toFixed(2)} at AWS latency)`,
    );
  };

  // A Lambda invocation has its CPU to itself; here every invocation shares one process. So publishes whose
  // deliveries need nothing from them are measured on their own, one at a time (their billed time is not
  // inflated by deliveries running beside them), and the backlog is then drained in full batches — what
  // the event source mapping takes from a queue under steady load.
  const apart = async (publish: () => Promise<number>): Promise<number> => {
    await h.deliveries.pause();
    try {
      return await publish();
    } finally {
      h.deliveries.resume();
    }
  };

  // The default, then the opt-in lean mode (README, "Message records on AWS"): the same publishes, carried
  // in their jobs; the emulated stack is redeployed with the other setting for it.
  for (const [name, records, description] of [
    ["single", "full", "1 KB JSON published alone, delivered first try"],
    ["single_lean", "lean", "as single, with messageRecords: lean (no record)"],
  ] as const) {
    if (records === "lean") h.redeploy({ HERALD_MESSAGE_RECORDS: records });
    await measure(name, description, counts[name], () =>
      apart(async () => {
        await pool(range(counts[name]), 1, async (i) => {
          await call("POST", `/v2/publish/${url(name, "ok", i)}`, jsonBody(i), json);
        });
        return counts[name];
      }),
    );
  }
  h.redeploy({ HERALD_MESSAGE_RECORDS: "full" });

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

  await measure("fanout3", "1 KB JSON published to a URL group of 3 endpoints", counts.fanout3 * 3, () =>
    apart(async () => {
      await pool(range(counts.fanout3), 1, async (i) => {
        await call("POST", "/v2/publish/bench-fanout", jsonBody(i), json);
      });
      return counts.fanout3;
    }),
  );

  await measure("fifo", "1 KB JSON enqueued to a queue (parallelism 1)", counts.fifo, async () => {
    await pool(range(counts.fifo), concurrency, async (i) => {
      await call("POST", `/v2/enqueue/bench-queue/${url("fifo", "ok", i)}`, jsonBody(i), json);
    });
    return counts.fifo;
  });

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
      await h.runDueSchedules(Date.now());
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
  return workloads;
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
