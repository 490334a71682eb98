// A flow-control key's messages due at once travel through the key's lanes where the platform has them
// (AWS: FIFO message groups; core/flow-control.ts `flowLaneName`), while the key's slots stay the limit.
// The harness's dispatcher plays the FIFO queue (a lane's jobs one at a time, in send order). Against
// each Store; run by test/contract/{sqlite,aws}.contract.test.ts.
import { describe, expect, it } from "vitest";
import {
  getFlowControl,
  pauseFlowControl,
  pinFlowControl,
  resumeFlowControl,
} from "../../lambdas/core/flow-control.ts";
import { ANY_DESTINATION } from "../../lambdas/core/destination-policy.ts";
import { handToLane } from "../../lambdas/core/queue-lanes.ts";
import type { DeliveryJob } from "../../lambdas/ports.ts";
import {
  answer,
  deliveredTo,
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
      "delivers once, through the unordered queue, a lane's job handed over when its batch ran out of time",
      test(async (h) => {
        await publishTo(h, "/handed", { headers: flow("handed", "parallelism=2") });
        const [lane] = [...h.lanes.values()].filter((jobs) => jobs.length > 0);
        const job = { ...(lane?.splice(0, 1)[0] as DeliveryJob), ordered: true };
        // Handed over twice (a batch that died after handing it over and was given again): the second
        // job finds the attempt settled.
        await h.invoke(() => handToLane(h.ctx, job));
        await h.runJobs();
        await h.invoke(() => handToLane(h.ctx, job));
        await h.runJobs();
        expect(deliveredTo(h, "/handed")).toHaveLength(1);
        expect(h.jobs).toEqual([]);
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
  });
}
