// A flow-control key's messages due at once travel through the key's lanes where the platform has them
// (AWS: FIFO message groups; core/flow-control.ts `flowLaneName`), while the key's slots stay the limit.
// The harness's dispatcher plays the FIFO queue (a lane's jobs one at a time, in send order). Against
// each Store; run by test/contract/{sqlite,aws}.contract.test.ts.
import { describe, expect, it } from "vitest";
import type { DeliverOptions } from "../../lambdas/core/deliver.ts";
import {
  getFlowControl,
  pauseFlowControl,
  pinFlowControl,
  resumeFlowControl,
  slotWaitersInProcess,
  type FlowControlState,
} from "../../lambdas/core/flow-control.ts";
import { updateRecord } from "../../lambdas/core/records.ts";
import { ANY_DESTINATION } from "../../lambdas/core/destination-policy.ts";
import type { DeliveryJob } from "../../lambdas/ports.ts";
import {
  answer,
  publishTo,
  withHarness,
  type CoreHarness,
  type HeldAttempt,
  type OpenCoreFixture,
} from "../support/core-harness.ts";

const flow = (key: string, value: string) => ({
  "Upstash-Flow-Control-Key": key,
  "Upstash-Flow-Control-Value": value,
});

/** The lanes jobs were sent into (and not yet run), with how many each holds. */
const laneSizes = (h: CoreHarness): Record<string, number> =>
  Object.fromEntries([...h.lanes].filter(([, jobs]) => jobs.length > 0).map(([lane, jobs]) => [lane, jobs.length]));

/** A run's allowance to wait in its process for a slot (the delivery Lambda's: its time left beyond an attempt). */
const waitAMinute: DeliverOptions = {
  slotWait: (over) => {
    const timer = setTimeout(over, 60_000);
    return () => clearTimeout(timer);
  },
};

/** Until `count` runs wait in this process for a slot of `key` (a deadline, not a sleep). */
async function waitingInProcess(h: CoreHarness, key: string, count: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (slotWaitersInProcess(h.ctx, key) !== count) {
    if (Date.now() > deadline) throw new Error(`expected ${count} runs waiting in the process`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The jobs of messages published to `key` due at once, taken out of the lanes, as coming through `lane`. */
async function laneJobs(h: CoreHarness, key: string, lane: string, ...paths: string[]): Promise<DeliveryJob[]> {
  for (const path of paths) await publishTo(h, path, { headers: flow(key, "parallelism=2") });
  const jobs = [...h.lanes.values()].flatMap((queued) => queued.splice(0));
  return jobs.map((job) => ({ ...job, lane }));
}

export function flowControlLanesContract(name: string, open: OpenCoreFixture): void {
  const test = (body: (h: CoreHarness) => Promise<void>) =>
    withHarness(open, { ordersQueues: true, config: { destinations: ANY_DESTINATION } }, body);

  describe(`Flow-control lanes: ${name}`, () => {
    it(
      "sends a burst on a key into its lanes and runs at most `parallelism` of it at once, each message once",
      test(async (h) => {
        const paths = Array.from({ length: 12 }, (_, i) => `/burst-${i}`);
        const holds = new Map<string, HeldAttempt>(paths.map((path) => [path, h.hold(path)]));
        await Promise.all(paths.map((path) => publishTo(h, path, { headers: flow("burst", "parallelism=3") })));
        expect(h.jobs).toEqual([]); // nothing through the unordered queue
        const lanes = laneSizes(h);
        expect(Object.keys(lanes).every((lane) => /^fc:burst#[0-2]$/.test(lane))).toBe(true);
        expect(Object.values(lanes).reduce((a, b) => a + b, 0)).toBe(12);
        // Each round: runJobs returns once every run waits at its held destination; one of them is answered.
        const answered = new Set<string>();
        while (answered.size < paths.length) {
          await h.runJobs();
          const inFlight = h.delivered.filter((path) => !answered.has(path));
          expect(inFlight.length).toBeGreaterThan(0);
          expect(inFlight.length).toBeLessThanOrEqual(3);
          const next = inFlight[0] as string;
          answered.add(next);
          holds.get(next)?.respond(answer(200));
        }
        await h.runJobs();
        expect(h.delivered.toSorted()).toEqual(paths.toSorted()); // each once
        expect(await getFlowControl(h.ctx, "burst")).toMatchObject({ parallelismCount: 0, waitListSize: 0 });
      }),
    );

    it(
      "sends a job its lane refused (SQS throttling the message group) through the unordered queue",
      test(async (h) => {
        const dispatcher = h.ctx.dispatcher as { dispatchOrdered?: (job: DeliveryJob, lane: string) => Promise<void> };
        const send = dispatcher.dispatchOrdered;
        dispatcher.dispatchOrdered = async () => {
          throw new Error("ThrottlingException: Rate exceeded");
        };
        try {
          await publishTo(h, "/refused", { headers: flow("hot", "parallelism=1") });
        } finally {
          dispatcher.dispatchOrdered = send;
        }
        expect(laneSizes(h)).toEqual({});
        expect(h.jobs).toHaveLength(1);
        await h.runJobs();
        expect(h.delivered).toEqual(["/refused"]);
      }),
    );

    it(
      "sends a delayed message of a key, and a message of a key with only a rate, through the unordered queue",
      test(async (h) => {
        await publishTo(h, "/later", { headers: { ...flow("slow", "parallelism=2"), "Upstash-Delay": "10s" } });
        await publishTo(h, "/rated", { headers: flow("rated", "rate=5") });
        expect(laneSizes(h)).toEqual({});
        expect(h.jobs).toHaveLength(2);
        await h.runJobs();
        expect(h.delivered).toEqual(["/rated"]);
        h.advance(10_000);
        await h.runJobs();
        expect(h.delivered).toEqual(["/rated", "/later"]);
      }),
    );

    it(
      "hashes a message over the key's pinned parallelism, not the one it was published with",
      test(async (h) => {
        await publishTo(h, "/first", { headers: flow("pinned", "parallelism=1") });
        await pinFlowControl(h.ctx, "pinned", new URLSearchParams({ parallelism: "4" }));
        for (let i = 0; i < 16; i++) await publishTo(h, `/p-${i}`, { headers: flow("pinned", "parallelism=1") });
        const lanes = Object.keys(laneSizes(h));
        expect(lanes.length).toBeGreaterThan(1); // 16 ids over 4 lanes all in one: (1/4)^15
        expect(lanes.every((lane) => /^fc:pinned#[0-3]$/.test(lane))).toBe(true);
        await h.runJobs();
        expect(h.delivered).toHaveLength(17);
      }),
    );

    it(
      "parks a paused key's lane jobs in its wait list and runs them on resume",
      test(async (h) => {
        await publishTo(h, "/a", { headers: flow("paused", "parallelism=2") });
        await pauseFlowControl(h.ctx, "paused");
        for (const path of ["/b", "/c"]) await publishTo(h, path, { headers: flow("paused", "parallelism=2") });
        await h.runJobs();
        expect(h.delivered).toEqual([]);
        expect(laneSizes(h)).toEqual({}); // the lanes moved on: the jobs wait in the key's list
        expect(await getFlowControl(h.ctx, "paused")).toMatchObject({ waitListSize: 3 });
        await resumeFlowControl(h.ctx, "paused");
        await h.runJobs();
        expect(h.delivered.toSorted()).toEqual(["/a", "/b", "/c"]);
      }),
    );

    it(
      "takes one slot per lane in a process: a lane's jobs of one batch hand it on, the other slot stays another lane's",
      test(async (h) => {
        const [a1, a2, a3] = (await laneJobs(h, "laned", "fc:laned#0", "/a1", "/a2", "/a3")) as [
          DeliveryJob,
          DeliveryJob,
          DeliveryJob,
        ];
        const [b1] = (await laneJobs(h, "laned", "fc:laned#1", "/b1")) as [DeliveryJob];
        const held = new Map(["/a1", "/a2", "/a3", "/b1"].map((path) => [path, h.hold(path)]));
        const lanePaths = ["/a1", "/a2", "/a3"];
        const runs = [a1, a2, a3].map((job) => h.deliver(job, waitAMinute));
        // Whichever of the lane's jobs takes the slot first, the two others wait for it, though a second
        // slot is free.
        await waitingInProcess(h, "laned", 2);
        await Promise.race(lanePaths.map((p) => held.get(p)?.sent));
        expect(h.delivered).toHaveLength(1);
        const runB = h.deliver(b1, waitAMinute);
        await held.get("/b1")?.sent; // the other lane takes the free slot at once
        expect(await getFlowControl(h.ctx, "laned")).toMatchObject({ parallelismCount: 2, waitListSize: 0 });
        // The lane's jobs run one after another, each on the slot the one before handed on.
        for (let n = 1; n <= 3; n++) {
          const path = h.delivered.filter((p) => lanePaths.includes(p))[n - 1] as string;
          expect(h.delivered.filter((p) => lanePaths.includes(p))).toHaveLength(n);
          held.get(path)?.respond(answer(200));
          if (n < 3)
            await Promise.race(lanePaths.filter((p) => !h.delivered.includes(p)).map((p) => held.get(p)?.sent));
        }
        expect(await Promise.all(runs)).toEqual(["delivered", "delivered", "delivered"]);
        held.get("/b1")?.respond(answer(200));
        expect(await runB).toBe("delivered");
        expect(h.delivered.toSorted()).toEqual(["/a1", "/a2", "/a3", "/b1"]);
        expect(h.jobs).toEqual([]); // no job was dispatched again: no wait-list round trip
        expect(await getFlowControl(h.ctx, "laned")).toMatchObject({ parallelismCount: 0, waitListSize: 0 });
      }),
    );

    it(
      "keeps a slot taken when the wake-up after it fails, and hands it on to its lane's next job",
      test(async (h) => {
        const [a1, a2] = (await laneJobs(h, "woken", "fc:woken#0", "/w1", "/w2")) as [DeliveryJob, DeliveryJob];
        // A holder whose worker died long ago: taking a slot drops it, and so wakes the wait list.
        const longAgo = h.ctx.clock.now() - h.ctx.config.maxTimeoutSec * 1000 - 120_000;
        await updateRecord<FlowControlState>(h.ctx, "flowControl", "woken", (state) =>
          state ? { ...state, holders: { "msg_dead:0": longAgo } } : undefined,
        );
        const store = h.ctx.store as unknown as Record<string, unknown>;
        const head = store.headQueueEntries as (...args: unknown[]) => Promise<unknown>;
        let failed = 0;
        store.headQueueEntries = async (...args: unknown[]) => {
          if (String(args[0]).startsWith("fc:") && failed++ === 0) throw new Error("DynamoDB throttled");
          return head.apply(h.ctx.store, args);
        };
        try {
          const held = h.hold("/w1");
          const run1 = h.deliver(a1, waitAMinute);
          await held.sent; // admitted though its wake-up failed
          const run2 = h.deliver(a2, waitAMinute);
          await waitingInProcess(h, "woken", 1); // w2 waits for its lane's slot
          held.respond(answer(200));
          expect(await run1).toBe("delivered");
          expect(await run2).toBe("delivered"); // handed over, not left to wait out its allowance
        } finally {
          store.headQueueEntries = head;
        }
        expect(failed).toBeGreaterThan(0);
        expect(h.delivered).toEqual(["/w1", "/w2"]);
        expect(slotWaitersInProcess(h.ctx, "woken")).toBe(0);
        expect(await getFlowControl(h.ctx, "woken")).toMatchObject({ parallelismCount: 0, waitListSize: 0 });
      }),
    );

    it(
      "lets a lane's next job go on its own when the one ahead is refused (a paused key): none is left waiting",
      test(async (h) => {
        const jobs = await laneJobs(h, "stopped", "fc:stopped#0", "/s1", "/s2", "/s3");
        await pauseFlowControl(h.ctx, "stopped");
        const outcomes = await Promise.all(jobs.map((job) => h.deliver(job, waitAMinute)));
        expect(outcomes).toEqual(["waiting", "waiting", "waiting"]); // each to the wait list, not a minute later
        expect(slotWaitersInProcess(h.ctx, "stopped")).toBe(0);
        expect(await getFlowControl(h.ctx, "stopped")).toMatchObject({ waitListSize: 3 });
        await resumeFlowControl(h.ctx, "stopped");
        await h.runJobs();
        expect(h.delivered.toSorted()).toEqual(["/s1", "/s2", "/s3"]);
      }),
    );
  });
}
