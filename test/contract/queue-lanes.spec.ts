// Queues the platform orders in lanes (core/queue-lanes.ts; AWS: the SQS FIFO queue, one message group
// per lane), against each Store. The harness's dispatcher plays the FIFO queue: a lane's jobs arrive in
// send order, one at a time, and a run that failed leaves its job at the head to be given again. Run by
// test/contract/{sqlite,aws}.contract.test.ts.
import { describe, expect, it } from "vitest";
import { handToLane } from "../../lambdas/core/queue-lanes.ts";
import { cancelMessage, cancelMessages } from "../../lambdas/core/cancel.ts";
import { deleteQueue, getQueue, setQueuePaused, upsertQueue } from "../../lambdas/core/queues.ts";
import { pauseFlowControl } from "../../lambdas/core/flow-control.ts";
import { sweep } from "../../lambdas/core/sweep.ts";
import type { DeliveryJob } from "../../lambdas/ports.ts";
import { ANY_DESTINATION } from "../../lambdas/core/destination-policy.ts";
import {
  answer,
  ProcessDied,
  publishTo,
  RECEIVER,
  withHarness,
  type CoreHarness,
  type OpenCoreFixture,
} from "../support/core-harness.ts";

const enqueue = (h: CoreHarness, queue: string, path: string, headers: Record<string, string> = {}) =>
  publishTo(h, path, { queueName: queue, headers });

export function queueLanesContract(name: string, open: OpenCoreFixture): void {
  const test = (body: (h: CoreHarness) => Promise<void>) =>
    withHarness(open, { ordersQueues: true, config: { destinations: ANY_DESTINATION } }, body);

  describe(`Queue lanes: ${name}`, () => {
    it(
      "holds a lane through its head's retries and callbacks; the next messages follow in order",
      test(async (h) => {
        const { ctx } = h;
        await upsertQueue(ctx, { queueName: "lane", parallelism: 1 });
        h.failsOnce("/a");
        await enqueue(h, "lane", "/a", {
          "Upstash-Retries": "2",
          "Upstash-Retry-Delay": "1000",
          "Upstash-Callback": "https://receiver.example/a-callback",
        });
        await enqueue(h, "lane", "/b");
        await enqueue(h, "lane", "/c");
        await h.runJobs();
        // /a failed and waits a second for its retry: /b and /c wait behind it, in the lane's entries.
        expect(h.delivered).toEqual(["/a", "/a-callback"]);
        expect((await getQueue(ctx, "lane")).lag).toBe(3);
        h.advance(1_000);
        await h.runJobs();
        expect(h.delivered).toEqual(["/a", "/a-callback", "/a", "/a-callback", "/b", "/c"]);
        expect((await getQueue(ctx, "lane")).lag).toBe(0);
        expect([...h.lanes.values()].flat()).toEqual([]);
      }),
    );

    it(
      "delivers, in order and once, a lane's jobs handed to its entries when their batch ran out of time",
      test(async (h) => {
        const { ctx } = h;
        for (const path of ["/a", "/b", "/c"]) await enqueue(h, "handed", path);
        // One FIFO batch held the lane's three jobs: /a ran, then the invocation had no time left for the
        // others, which were handed over in order (and left SQS). /c is handed over twice (a batch that
        // died after handing it and was given again): its entry is written once.
        const batch = (h.lanes.get("handed#0") ?? []).splice(0);
        expect(batch).toHaveLength(3);
        const [first, ...rest] = batch.map((job) => ({ ...job, ordered: true }));
        await h.deliver(first as DeliveryJob);
        for (const job of [...rest, rest[1] as DeliveryJob]) await h.invoke(() => handToLane(ctx, job));
        await h.runJobs();
        expect(h.delivered).toEqual(["/a", "/b", "/c"]);
        expect((await getQueue(ctx, "handed")).lag).toBe(0);
        expect(await ctx.store.countQueueEntries("handed#0")).toBe(0);
        // Handing over a job whose message has ended writes nothing.
        await h.invoke(() => handToLane(ctx, first as DeliveryJob));
        expect(await ctx.store.countQueueEntries("handed#0")).toBe(0);
      }),
    );

    it(
      "runs a message that holds nothing through its lane alone: no entry is written for it",
      test(async (h) => {
        const { ctx } = h;
        await enqueue(h, "flowing", "/one");
        await enqueue(h, "flowing", "/two");
        await h.runJobs();
        expect(h.delivered).toEqual(["/one", "/two"]);
        expect(await ctx.store.countQueueEntries("flowing#0")).toBe(0);
      }),
    );

    it(
      "keeps a paused queue's jobs in the lane's entries, counts them as lag, and delivers them in order on resume",
      test(async (h) => {
        const { ctx } = h;
        await upsertQueue(ctx, { queueName: "held", parallelism: 1, paused: true });
        for (let i = 0; i < 3; i++) await enqueue(h, "held", `/held-${i}`);
        await h.runJobs();
        expect(h.delivered).toEqual([]);
        expect((await getQueue(ctx, "held")).lag).toBe(3);
        await enqueue(h, "held", "/held-3");
        await setQueuePaused(ctx, "held", false);
        await h.runJobs();
        expect(h.delivered).toEqual(["/held-0", "/held-1", "/held-2", "/held-3"]);
        expect((await getQueue(ctx, "held")).lag).toBe(0);
      }),
    );

    it(
      "gives a paused queue's job its turn when the resume lands between its read of the settings and its entry",
      test(async (h) => {
        const { ctx } = h;
        await upsertQueue(ctx, { queueName: "racing", parallelism: 1, paused: true });
        await enqueue(h, "racing", "/raced");
        // The resume's pump finds no entry yet; the job, which read the queue as paused, then adds it.
        const store = ctx.store;
        const put = store.putQueueEntry.bind(store);
        let resumed = false;
        store.putQueueEntry = async (...args) => {
          if (!resumed) {
            resumed = true;
            await setQueuePaused(ctx, "racing", false);
          }
          return put(...args);
        };
        try {
          await h.runJobs();
        } finally {
          store.putQueueEntry = put;
        }
        expect(resumed).toBe(true);
        expect(h.delivered).toEqual(["/raced"]); // now, not at the next sweep
        expect((await getQueue(ctx, "racing")).lag).toBe(0);
      }),
    );

    it(
      "never runs more than `parallelism` at once under a burst; after it is lowered, earlier messages drain in their lanes and later ones use fewer",
      test(async (h) => {
        const { ctx } = h;
        let inFlight = 0;
        let most = 0;
        h.respondWith(async () => {
          most = Math.max(most, ++inFlight);
          await new Promise((resolve) => setTimeout(resolve, 5));
          inFlight--;
          return answer(200);
        });
        await upsertQueue(ctx, { queueName: "wide", parallelism: 3 });
        const burst = Array.from({ length: 24 }, (_, i) => `/burst-${i}`);
        await Promise.all(burst.map((path) => enqueue(h, "wide", path)));
        await h.runJobs();
        expect(new Set(h.delivered)).toEqual(new Set(burst));
        expect(most).toBeLessThanOrEqual(3);
        expect(most).toBeGreaterThanOrEqual(2);

        await upsertQueue(ctx, { queueName: "wide", parallelism: 4, paused: true });
        const earlier = Array.from({ length: 16 }, (_, i) => `/earlier-${i}`);
        for (const path of earlier) await enqueue(h, "wide", path);
        await h.runJobs(); // paused: every job joined its lane's entries, in four lanes
        // Lowered: the messages already in lanes 2 and 3 drain there (each lane one at a time)...
        await upsertQueue(ctx, { queueName: "wide", parallelism: 2, paused: false });
        most = 0;
        await h.runJobs();
        expect(new Set(h.delivered.slice(burst.length))).toEqual(new Set(earlier));
        expect(most).toBeLessThanOrEqual(4);
        // ...and the later ones run in two lanes only.
        const later = Array.from({ length: 16 }, (_, i) => `/later-${i}`);
        most = 0;
        await Promise.all(later.map((path) => enqueue(h, "wide", path)));
        await h.runJobs();
        expect(new Set(h.delivered.slice(burst.length + earlier.length))).toEqual(new Set(later));
        expect(h.delivered).toHaveLength(burst.length + earlier.length + later.length);
        expect(most).toBeLessThanOrEqual(2);
        expect((await getQueue(ctx, "wide")).lag).toBe(0);
      }),
    );

    it(
      "delivers a deleted queue's waiting messages in every lane, also when a new enqueue makes the queue again",
      test(async (h) => {
        const { ctx } = h;
        await upsertQueue(ctx, { queueName: "gone", parallelism: 4, paused: true });
        const paths = Array.from({ length: 8 }, (_, i) => `/gone-${i}`);
        for (const path of paths) await enqueue(h, "gone", path);
        await h.runJobs(); // paused: every job joined its lane's entries
        await deleteQueue(ctx, "gone");
        await enqueue(h, "gone", "/gone-again"); // makes the queue again, parallelism 1
        await h.runJobs();
        expect(new Set(h.delivered)).toEqual(new Set([...paths, "/gone-again"]));
      }),
    );

    it(
      "delivers a deleted queue's backlog still in SQS after its marker went, the queue made again narrower and paused",
      test(async (h) => {
        const { ctx } = h;
        await upsertQueue(ctx, { queueName: "drained", parallelism: 4 });
        const paths = Array.from({ length: 8 }, (_, i) => `/drained-${i}`);
        for (const path of paths) await enqueue(h, "drained", path); // jobs in the FIFO lanes, not yet run
        expect([...h.lanes.keys()].filter((lane) => lane !== "drained#0").length).toBeGreaterThan(0);
        await deleteQueue(ctx, "drained");
        h.advance(2 * 3_600_000);
        await h.invoke(() => sweep(ctx)); // no entries in the store: the marker goes
        expect(await ctx.store.getRecord("deletedQueue", "drained")).toBeUndefined();
        await upsertQueue(ctx, { queueName: "drained", parallelism: 1, paused: true });
        await h.runJobs(); // SQS gives the backlog: every job joins its lane's entries while paused
        expect(h.delivered).toEqual([]);
        await setQueuePaused(ctx, "drained", false);
        await h.runJobs();
        expect(new Set(h.delivered)).toEqual(new Set(paths));
        expect(h.delivered).toHaveLength(paths.length);
        expect((await getQueue(ctx, "drained")).lag).toBe(0);
      }),
    );

    it(
      "lets the sweep find lane 0 of a deleted queue whose marker went, once a job of its backlog joined it",
      test(async (h) => {
        const { ctx } = h;
        await upsertQueue(ctx, { queueName: "gone0", parallelism: 1 });
        await enqueue(h, "gone0", "/late", { "Upstash-Delay": "1d" }); // its job waits in the FIFO lane
        await deleteQueue(ctx, "gone0");
        h.advance(2 * 3_600_000);
        await h.invoke(() => sweep(ctx)); // no entries in the store: the marker goes
        expect(await ctx.store.getRecord("deletedQueue", "gone0")).toBeUndefined();
        // SQS gives the job: its Not-Before is ahead, so it joins its lane, and the pump's dispatch is lost.
        await expect(h.diesAtDispatch(() => h.runJobs())).rejects.toBeInstanceOf(ProcessDied);
        expect(await ctx.store.countQueueEntries("gone0#0")).toBe(1);
        expect(await ctx.store.getRecord("deletedQueue", "gone0")).toBeDefined(); // the job renewed it
        h.advance(22 * 3_600_000 + ctx.config.maxTimeoutSec * 1000 + 16 * 60_000); // past the lost-turn margin
        await h.invoke(() => sweep(ctx));
        await h.runJobs();
        expect(h.delivered).toEqual(["/late"]);
        expect(await ctx.store.countQueueEntries("gone0#0")).toBe(0);
      }),
    );

    it(
      "gives a lane's turn again when its job was lost between the claim and the dispatch, for a head waiting for its retry",
      test(async (h) => {
        const { ctx } = h;
        await upsertQueue(ctx, { queueName: "lane-lost", parallelism: 1 });
        h.failsOnce("/ll");
        await enqueue(h, "lane-lost", "/ll", { "Upstash-Retries": "1", "Upstash-Retry-Delay": "1000" });
        await enqueue(h, "lane-lost", "/ll-next");
        await h.runJobs(); // the first attempt fails: its retry waits, holding the lane in the store
        await setQueuePaused(ctx, "lane-lost", true);
        h.advance(1_000);
        await h.runJobs(); // the retry's job finds the queue paused: the head parks
        await expect(h.diesAtDispatch(() => setQueuePaused(ctx, "lane-lost", false))).rejects.toBeInstanceOf(
          ProcessDied,
        );
        await h.runJobs();
        expect(h.delivered).toEqual(["/ll"]);
        h.advance(31 * 60_000); // past the longest attempt and the lost-turn margin
        await h.invoke(() => sweep(ctx));
        await h.runJobs();
        expect(h.delivered).toEqual(["/ll", "/ll", "/ll-next"]);
        expect((await getQueue(ctx, "lane-lost")).lag).toBe(0);
      }),
    );

    it(
      "does not run a message early when the job that joined its lane comes again after a pump gave it its turn",
      test(async (h) => {
        const { ctx } = h;
        await upsertQueue(ctx, { queueName: "later", parallelism: 1 });
        await enqueue(h, "later", "/later", { "Upstash-Delay": "1d" });
        const [first] = h.lanes.get("later#0") ?? [];
        await h.runJobs(); // it joins its lane to wait for its Not-Before; the lane's pump gives it its turn
        expect(h.delivered).toEqual([]);
        // SQS gives the job that joined again (its invocation died after the join)
        expect(await h.deliver({ ...(first as DeliveryJob), ordered: true })).not.toBe("delivered");
        expect(h.delivered).toEqual([]);
        h.advance(86_400_000);
        await h.runJobs();
        expect(h.delivered).toEqual(["/later"]);
      }),
    );

    it(
      "parks a pinned head whose job comes again while its queue is paused, and runs it on resume",
      test(async (h) => {
        const { ctx } = h;
        await upsertQueue(ctx, { queueName: "pinned-paused", parallelism: 1 });
        h.failsOnce("/pp");
        await enqueue(h, "pinned-paused", "/pp", { "Upstash-Retries": "1", "Upstash-Retry-Delay": "1000" });
        await enqueue(h, "pinned-paused", "/pp-after");
        await expect(h.diesAtDispatch(() => h.runJobs())).rejects.toBeInstanceOf(ProcessDied);
        await setQueuePaused(ctx, "pinned-paused", true);
        await h.runJobs(); // the job comes again: the queue is paused, its entry parks
        expect(h.delivered).toEqual(["/pp"]);
        await setQueuePaused(ctx, "pinned-paused", false);
        await h.runJobs();
        expect(h.delivered).toEqual(["/pp", "/pp", "/pp-after"]);
        expect((await getQueue(ctx, "pinned-paused")).lag).toBe(0);
      }),
    );

    it(
      "runs a pinned head whose job came again while paused when the resume lands just before its park",
      test(async (h) => {
        const { ctx } = h;
        await upsertQueue(ctx, { queueName: "resumed-meanwhile", parallelism: 1 });
        h.failsOnce("/rm");
        // Alone in its lane: no later job's join pumps the lane for it.
        await enqueue(h, "resumed-meanwhile", "/rm", { "Upstash-Retries": "1", "Upstash-Retry-Delay": "1000" });
        await expect(h.diesAtDispatch(() => h.runJobs())).rejects.toBeInstanceOf(ProcessDied);
        await setQueuePaused(ctx, "resumed-meanwhile", true);
        // The job comes again and reads the queue as paused; the resume lands right after that read, and
        // its pump finds the entry still claimed: only the job's own pump can give it its turn now.
        const store = ctx.store;
        const head = store.headQueueEntries.bind(store);
        let resumed = false;
        store.headQueueEntries = async (queue, limit) => {
          const entries = await head(queue, limit);
          if (!resumed && queue === "resumed-meanwhile#0") {
            resumed = true;
            await setQueuePaused(ctx, "resumed-meanwhile", false);
          }
          return entries;
        };
        try {
          await h.runJobs();
        } finally {
          store.headQueueEntries = head;
        }
        expect(resumed).toBe(true);
        await h.runJobs(); // no sweep
        expect(h.delivered).toEqual(["/rm", "/rm"]);
      }),
    );

    it(
      "pins a failing head's lane in one write: a pump just after it gives the entry no turn of its own",
      test(async (h) => {
        const { ctx } = h;
        await upsertQueue(ctx, { queueName: "pin", parallelism: 1 });
        h.failsOnce("/a");
        await enqueue(h, "pin", "/a", { "Upstash-Retries": "1", "Upstash-Retry-Delay": "1000" });
        await enqueue(h, "pin", "/b");
        // A pump (here an update of the settings; the sweep's or a resume's alike) lands right after the
        // failed run writes its entry, before it dispatches the retry's job and writes RETRY.
        const store = ctx.store;
        const put = store.putQueueEntry.bind(store);
        let pumped = false;
        store.putQueueEntry = async (...args) => {
          const made = await put(...args);
          if (!pumped) {
            pumped = true;
            await upsertQueue(ctx, { queueName: "pin", parallelism: 1 });
          }
          return made;
        };
        try {
          await h.runJobs();
        } finally {
          store.putQueueEntry = put;
        }
        expect(pumped).toBe(true);
        expect(h.delivered).toEqual(["/a"]); // the pump sent no job of its own for /a's first attempt
        h.advance(1_000);
        await h.runJobs();
        expect(h.delivered).toEqual(["/a", "/a", "/b"]);
        expect((await getQueue(ctx, "pin")).lag).toBe(0);
      }),
    );

    it(
      "gives a job whose run died after it pinned its lane again: it still holds the lane, and nothing runs twice at once",
      test(async (h) => {
        const { ctx } = h;
        await upsertQueue(ctx, { queueName: "pinned", parallelism: 1 });
        h.failsOnce("/p");
        await enqueue(h, "pinned", "/p", { "Upstash-Retries": "1", "Upstash-Retry-Delay": "1000" });
        await enqueue(h, "pinned", "/after");
        // The first run fails its attempt, pins the lane, and dies sending the retry's job.
        await expect(h.diesAtDispatch(() => h.runJobs())).rejects.toBeInstanceOf(ProcessDied);
        expect(h.delivered).toEqual(["/p"]);
        // SQS gives the job again: it holds the lane still and attempts again; /after waits behind it.
        await h.runJobs();
        expect(h.delivered).toEqual(["/p", "/p", "/after"]);
        h.advance(2_000);
        await h.runJobs();
        expect(h.delivered).toEqual(["/p", "/p", "/after"]); // no retry job was left behind
        expect((await getQueue(ctx, "pinned")).lag).toBe(0);
      }),
    );
  });

  // Both ways a platform orders queues: lanes (AWS: SQS FIFO) and the store's entries (npm start).
  for (const ordersQueues of [true, false]) {
    const test = (body: (h: CoreHarness) => Promise<void>) =>
      withHarness(open, { ordersQueues, config: { destinations: ANY_DESTINATION } }, body);
    const ordering = ordersQueues ? "lanes" : "store entries";
    // A cancelled message's job sent for when an attempt under way at the cancel has ended (queues.ts).
    const attemptOver = (h: CoreHarness) => h.ctx.config.maxTimeoutSec * 1000 + 60_000;

    describe(`A cancelled queue head waiting for a time: ${name}, ${ordering}`, () => {
      it(
        "frees the queue once an attempt under way at the cancel would have ended, not at the head's retry a day later",
        test(async (h) => {
          const { ctx } = h;
          await upsertQueue(ctx, { queueName: "held", parallelism: 1 });
          h.failsOnce("/head");
          const head = await enqueue(h, "held", "/head", { "Upstash-Retries": "2", "Upstash-Retry-Delay": "86400000" });
          await enqueue(h, "held", "/next");
          await h.runJobs();
          expect(h.delivered).toEqual(["/head"]); // it failed, and waits a day for its retry; /next behind it
          expect(await h.invoke(() => cancelMessage(ctx, head))).toEqual({ cancelled: 1 });
          h.advance(attemptOver(h) - 1_000);
          await h.runJobs();
          expect(h.delivered).toEqual(["/head"]); // an attempt that started before the cancel may still run
          h.advance(1_000);
          await h.runJobs();
          expect(h.delivered).toEqual(["/head", "/next"]);
          expect((await ctx.store.getMessage(head))?.status.state).toBe("CANCELED");
          expect((await getQueue(ctx, "held")).lag).toBe(0);
          // The head's own retry job, a day later, finds it ended: nothing is attempted again.
          h.advance(86_400_000);
          await h.runJobs();
          expect(h.delivered).toEqual(["/head", "/next"]);
        }),
      );

      it(
        "frees the queue from a head delayed by a month that a bulk cancel ended",
        test(async (h) => {
          const { ctx } = h;
          await upsertQueue(ctx, { queueName: "delayed", parallelism: 1 });
          const head = await enqueue(h, "delayed", "/later", { "Upstash-Delay": "30d" });
          await enqueue(h, "delayed", "/now");
          await h.runJobs();
          expect(h.delivered).toEqual([]); // /now waits behind the delayed head, as in QStash's FIFO queue
          const cancelled = await h.invoke(() => cancelMessages(ctx, { filter: { queueName: ["delayed"] } }));
          expect(cancelled).toEqual({ cancelled: 2 });
          h.advance(attemptOver(h));
          await h.runJobs();
          expect(h.delivered).toEqual([]); // /now was cancelled too
          expect((await ctx.store.getMessage(head))?.status.state).toBe("CANCELED");
          expect((await getQueue(ctx, "delayed")).lag).toBe(0);
          await enqueue(h, "delayed", "/after");
          await h.runJobs();
          expect(h.delivered).toEqual(["/after"]);
        }),
      );

      it(
        "answers a cancel that stood even when the job freeing the queue cannot be sent; the head's own job ends it then",
        test(async (h) => {
          const { ctx } = h;
          await upsertQueue(ctx, { queueName: "unsent", parallelism: 1 });
          h.failsOnce("/unsent-head");
          const head = await enqueue(h, "unsent", "/unsent-head", {
            "Upstash-Retries": "1",
            "Upstash-Retry-Delay": "3600000",
          });
          await enqueue(h, "unsent", "/unsent-next");
          await h.runJobs();
          h.failNextDispatch(head);
          expect(await h.invoke(() => cancelMessage(ctx, head))).toEqual({ cancelled: 1 });
          expect((await ctx.store.getMessage(head))?.status.state).toBe("CANCEL_REQUESTED");
          h.advance(attemptOver(h));
          await h.runJobs();
          expect(h.delivered).toEqual(["/unsent-head"]); // no job was sent: the head holds the queue still
          h.advance(3_600_000);
          await h.runJobs();
          expect(h.delivered).toEqual(["/unsent-head", "/unsent-next"]);
          expect((await ctx.store.getMessage(head))?.status.state).toBe("CANCELED");
        }),
      );

      it(
        "frees the queue from a head waiting for a paused flow-control key's slot",
        test(async (h) => {
          const { ctx } = h;
          await upsertQueue(ctx, { queueName: "keyed", parallelism: 1 });
          const flow = { "Upstash-Flow-Control-Key": "held-key", "Upstash-Flow-Control-Value": "parallelism=1" };
          const head = await enqueue(h, "keyed", "/keyed-head", flow);
          await h.invoke(() => pauseFlowControl(ctx, "held-key"));
          await enqueue(h, "keyed", "/keyed-next");
          await h.runJobs();
          expect(h.delivered).toEqual([]); // the head waits for its key, holding the queue
          expect(await h.invoke(() => cancelMessage(ctx, head))).toEqual({ cancelled: 1 });
          h.advance(attemptOver(h));
          await h.runJobs();
          expect(h.delivered).toEqual(["/keyed-next"]);
          expect((await ctx.store.getMessage(head))?.status.state).toBe("CANCELED");
          expect((await getQueue(ctx, "keyed")).lag).toBe(0);
        }),
      );

      it(
        "ends a cancelled delayed message deep in a paused queue when its turn comes, not at its Not-Before",
        test(async (h) => {
          const { ctx } = h;
          await upsertQueue(ctx, { queueName: "deep", parallelism: 1, paused: true });
          const paths = Array.from({ length: 55 }, (_, i) => `/deep-${i}`);
          for (const path of paths) await enqueue(h, "deep", path);
          const late = await enqueue(h, "deep", "/deep-late", { "Upstash-Delay": "30d" });
          await h.runJobs(); // paused: every job waits in the store, the delayed one 56th
          expect(await h.invoke(() => cancelMessages(ctx, { filter: { url: [`${RECEIVER}/deep-late`] } }))).toEqual({
            cancelled: 1,
          });
          h.advance(attemptOver(h));
          await h.runJobs();
          await setQueuePaused(ctx, "deep", false);
          await h.runJobs();
          expect(h.delivered).toEqual(paths);
          expect((await ctx.store.getMessage(late))?.status.state).toBe("CANCELED");
          await enqueue(h, "deep", "/deep-after");
          await h.runJobs();
          expect(h.delivered).toEqual([...paths, "/deep-after"]);
          expect((await getQueue(ctx, "deep")).lag).toBe(0);
        }),
      );
    });
  }
}
