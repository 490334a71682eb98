// Flow-control wait lists must never strand a message: cancelled waiters and crashed holders included.
// Against each Store; core is driven as the API and the delivery workers drive it. Run by
// test/contract/{sqlite,aws}.contract.test.ts.
import { describe, expect, it } from "vitest";
import { cancelMessage } from "../../lambdas/core/cancel.ts";
import { sweep } from "../../lambdas/core/sweep.ts";
import {
  acquireFlowSlot,
  getFlowControl,
  pauseFlowControl,
  pinFlowControl,
  resumeFlowControl,
  type FlowControlState,
  releaseFlowSlot,
  slotWaitersInProcess,
} from "../../lambdas/core/flow-control.ts";
import type { DeliverOptions } from "../../lambdas/core/deliver.ts";
import { updateRecord } from "../../lambdas/core/records.ts";
import type { DeliveryJob } from "../../lambdas/ports.ts";
import {
  answer,
  deliveredTo,
  headerOf,
  publishTo,
  withLocalSettings,
  type CoreHarness,
  type HeldAttempt,
  type OpenCoreFixture,
} from "../support/core-harness.ts";

const FLOW = { "Upstash-Flow-Control-Key": "one-at-a-time", "Upstash-Flow-Control-Value": "parallelism=1" };

/** `POST /v2/publish/<destination>` with these headers. */
const publishWith = (h: CoreHarness, path: string, headers: Record<string, string>) => publishTo(h, path, { headers });

/** A message on the key whose attempt is held in flight at its destination, holding the key's slot. */
async function inFlight(h: CoreHarness, path: string): Promise<HeldAttempt> {
  const held = h.hold(path);
  await publishWith(h, path, FLOW);
  await h.runJobs();
  await held.sent;
  return held;
}

/** `DELETE /v2/messages/<id>`: the API answers 200 with what core returns. */
const cancel = (h: CoreHarness, messageId: string) => h.invoke(() => cancelMessage(h.ctx, messageId));

export function flowControlRecoveryContract(name: string, open: OpenCoreFixture): void {
  const test = withLocalSettings(open);

  describe(`Flow-control recovery: ${name}`, () => {
    it(
      "wakes the next waiter when the one ahead of it was cancelled",
      test(async (h) => {
        const a = await inFlight(h, "/a");
        const b = await publishWith(h, "/b", FLOW);
        await publishWith(h, "/c", FLOW);
        await h.runJobs(); // both wait in the list
        expect(h.delivered).toEqual(["/a"]);
        await cancel(h, b);
        a.respond(answer(200));
        await h.runJobs();
        expect(h.delivered).toContain("/c");
        expect(deliveredTo(h, "/b")).toHaveLength(0);
      }),
    );

    it(
      "lets an attempt in flight keep its slot and its outcome when a second job of it finds its cancel",
      test(async (h) => {
        const held = h.hold("/m");
        const m = await publishWith(h, "/m", FLOW);
        const [job] = h.jobs.slice(0) as [DeliveryJob];
        await h.runJobs();
        await held.sent; // m's attempt is in flight, holding the key's one slot
        await cancel(h, m); // requested while in flight
        // A second job of the same attempt (SQS's duplicate, or a queue's turn given again) comes now.
        expect(await h.deliver({ ...job })).toBe("waiting");
        expect(await getFlowControl(h.ctx, "one-at-a-time")).toMatchObject({ parallelismCount: 1 });
        await publishWith(h, "/next", FLOW);
        await h.runJobs(); // the slot is m's: /next waits
        expect(h.delivered).toEqual(["/m"]);
        held.respond(answer(200));
        await h.runJobs(); // the duplicate's later job finds m ended; /next gets the slot
        expect(h.delivered).toEqual(["/m", "/next"]);
        expect((await h.ctx.store.getMessage(m))?.status.state).toBe("DELIVERED"); // the attempt's outcome stands
      }),
    );

    it(
      "wakes a waiter behind second entries of an attempt in flight while a slot is free",
      test(async (h) => {
        const two = { "Upstash-Flow-Control-Key": "two", "Upstash-Flow-Control-Value": "parallelism=2" };
        const held = h.hold("/m");
        await publishWith(h, "/m", two);
        const [job] = h.jobs.slice(0) as [DeliveryJob];
        await pauseFlowControl(h.ctx, "two");
        await h.runJobs(); // m waits in the paused key's list
        for (let i = 0; i < 2; i++) expect(await h.deliver({ ...job })).toBe("waiting"); // second jobs park too
        await publishWith(h, "/n", two);
        await h.runJobs(); // n parks behind m's three entries
        expect((await getFlowControl(h.ctx, "two")).waitListSize).toBe(4);
        await resumeFlowControl(h.ctx, "two");
        await h.runJobs();
        await held.sent; // m runs in one slot; n takes the other
        expect(h.delivered.toSorted()).toEqual(["/m", "/n"]);
        held.respond(answer(200));
        await h.runJobs();
        expect((await getFlowControl(h.ctx, "two")).waitListSize).toBe(0);
      }),
    );

    it(
      "parks a waiter at another position when another process took its place in the same millisecond",
      test(async (h) => {
        const a = await inFlight(h, "/a");
        // Another process's waiter (an attempt of a message that has since ended) takes b's position first.
        const store = h.ctx.store;
        const put = store.putQueueEntry.bind(store);
        const taken: number[] = [];
        store.putQueueEntry = async (queue, entry) => {
          if (taken.length === 0) {
            taken.push(entry.seq);
            expect(await put(queue, { seq: entry.seq, messageId: "msg_elsewhere|0" })).toBe(true);
          }
          return put(queue, entry);
        };
        try {
          await publishWith(h, "/b", FLOW);
          await h.runJobs(); // b waits in the list
        } finally {
          store.putQueueEntry = put;
        }
        expect(taken).toHaveLength(1);
        expect((await getFlowControl(h.ctx, "one-at-a-time")).waitListSize).toBe(2);
        a.respond(answer(200));
        await h.runJobs();
        expect(h.delivered).toEqual(["/a", "/b"]);
        expect((await getFlowControl(h.ctx, "one-at-a-time")).waitListSize).toBe(0);
      }),
    );

    it(
      "gives a waiter no second job when another process's waker kept its slot, and wakes it once that slot lapses",
      test(async (h) => {
        const a = await inFlight(h, "/a");
        const b = await publishWith(h, "/b", FLOW);
        await h.runJobs(); // b waits in the list
        // Another process's waker, reading the same list, keeps the slot for b just after this waker read
        // the key's record, and dies before sending b's job.
        const store = h.ctx.store;
        const head = store.headQueueEntries.bind(store);
        let keptElsewhere = 0;
        store.headQueueEntries = async (queue, limit) => {
          const entries = await head(queue, limit);
          if (queue.startsWith("fc:") && keptElsewhere === 0) {
            keptElsewhere++;
            await updateRecord<FlowControlState>(h.ctx, "flowControl", "one-at-a-time", (s) =>
              s ? { ...s, reserved: { [`${b}:0`]: h.clock.now() } } : undefined,
            );
          }
          return entries;
        };
        try {
          a.respond(answer(200));
          await h.runJobs(); // a's release woke the list: b's slot was kept elsewhere, so no job here
        } finally {
          store.headQueueEntries = head;
        }
        expect(keptElsewhere).toBe(1);
        expect(h.delivered).toEqual(["/a"]);
        expect(h.jobs).toHaveLength(0);
        expect((await getFlowControl(h.ctx, "one-at-a-time")).waitListSize).toBe(1);
        // Within the minute the slot stays kept: the sweep wakes no one.
        h.advance(30_000);
        await sweep(h.ctx);
        expect(h.jobs).toHaveLength(0);
        // A minute on, the kept slot has lapsed: the sweep's wake-up gives b its job, once.
        h.advance(31_000);
        await sweep(h.ctx);
        await h.runJobs();
        expect(h.delivered).toEqual(["/a", "/b"]);
        expect((await getFlowControl(h.ctx, "one-at-a-time")).waitListSize).toBe(0);
      }),
    );

    it(
      "wakes past a waiter whose slot another process's waker kept and has not sent yet",
      test(async (h) => {
        const { ctx } = h;
        const two = { "Upstash-Flow-Control-Key": "two-at-a-time", "Upstash-Flow-Control-Value": "parallelism=2" };
        const x = await publishWith(h, "/x", { ...two, "Upstash-Delay": "1h" });
        expect(await acquireFlowSlot(ctx, "two-at-a-time", { messageId: x, retried: 0 })).toEqual({ admitted: true });
        const held = h.hold("/y");
        await publishWith(h, "/y", two);
        await h.runJobs();
        await held.sent; // x and y hold both slots
        const w1 = await publishWith(h, "/w1", two);
        await h.runJobs();
        await publishWith(h, "/w2", two);
        await h.runJobs(); // both wait in the list, w1 ahead
        // In another process x's attempt ends, and its waker keeps the slot for w1 and has not sent its job.
        await updateRecord<FlowControlState>(ctx, "flowControl", "two-at-a-time", (s) => {
          if (!s) return undefined;
          const { [`${x}:0`]: _ended, ...holders } = s.holders;
          return { ...s, holders, reserved: { [`${w1}:0`]: h.clock.now() } };
        });
        held.respond(answer(200));
        await h.runJobs(); // y's release wakes w2, read past w1
        expect(h.delivered).toEqual(["/y", "/w2"]);
        expect((await getFlowControl(ctx, "two-at-a-time")).waitListSize).toBe(1);
        // That waker never sent w1's job: once its kept slot lapses, the sweep wakes w1.
        h.advance(61_000);
        await sweep(ctx);
        await h.runJobs();
        expect(h.delivered).toEqual(["/y", "/w2", "/w1"]);
      }),
    );

    it(
      "gives a waiter of a key without a parallelism limit no second job when another waker woke it",
      test(async (h) => {
        const { ctx } = h;
        const rated = { "Upstash-Flow-Control-Key": "rated", "Upstash-Flow-Control-Value": "rate=100" };
        await publishWith(h, "/first", rated);
        await h.runJobs(); // the key has its record
        await pauseFlowControl(ctx, "rated");
        const w = await publishWith(h, "/held", rated);
        await h.runJobs(); // w waits while the key is paused
        expect((await getFlowControl(ctx, "rated")).waitListSize).toBe(1);
        // Another process's waker of the resume reads the same list and marks w woken first.
        const store = ctx.store;
        const head = store.headQueueEntries.bind(store);
        store.headQueueEntries = async (queue, limit) => {
          const entries = await head(queue, limit);
          store.headQueueEntries = head;
          await updateRecord<FlowControlState>(ctx, "flowControl", "rated", (s) =>
            s ? { ...s, reserved: { [`${w}:0`]: h.clock.now() } } : undefined,
          );
          return entries;
        };
        try {
          await resumeFlowControl(ctx, "rated");
        } finally {
          store.headQueueEntries = head;
        }
        expect(h.jobs).toHaveLength(0); // its job is the other waker's to send
        h.advance(61_000);
        await sweep(ctx);
        await h.runJobs();
        expect(h.delivered).toEqual(["/first", "/held"]);
      }),
    );

    it(
      "gives up the kept slots of every job a waker did not send when a send fails",
      test(async (h) => {
        const { ctx } = h;
        const two = { "Upstash-Flow-Control-Key": "two-at-a-time", "Upstash-Flow-Control-Value": "parallelism=2" };
        const a = h.hold("/a2");
        const b = h.hold("/b2");
        await publishWith(h, "/a2", two);
        await publishWith(h, "/b2", two);
        await h.runJobs();
        await Promise.all([a.sent, b.sent]); // both slots held
        await publishWith(h, "/w1", two);
        await publishWith(h, "/w2", two);
        await h.runJobs(); // both wait in the list (in the order their concurrent runs parked)
        // Both slots come free at once (pinned to 4: two more), and SQS refuses the first job sent, so
        // neither is sent.
        h.failNextDispatch();
        await expect(pinFlowControl(ctx, "two-at-a-time", new URLSearchParams({ parallelism: "4" }))).rejects.toThrow(
          /SQS answered 503/,
        );
        expect(h.jobs).toHaveLength(0);
        // The next wake-up, a second later, finds both slots free, not kept for jobs never sent.
        h.advance(1_000);
        await sweep(ctx);
        a.respond(answer(200));
        b.respond(answer(200));
        await h.runJobs();
        expect([...h.delivered].sort()).toEqual(["/a2", "/b2", "/w1", "/w2"]);
      }),
    );

    it(
      "keeps a woken waiter's slot: a fresh job that comes first waits, and the woken one goes",
      test(async (h) => {
        await publishWith(h, "/kept-a", FLOW);
        const b = await publishWith(h, "/kept-b", FLOW);
        const [jobA, jobB] = h.jobs.splice(0) as [DeliveryJob, DeliveryJob];
        const heldA = h.hold("/kept-a");
        const runA = h.deliver(jobA);
        await heldA.sent;
        expect(await h.deliver(jobB)).toBe("waiting"); // b waits in the list
        await publishWith(h, "/kept-c", FLOW);
        const [jobC] = h.jobs.splice(0) as [DeliveryJob];
        heldA.respond(answer(200));
        expect(await runA).toBe("delivered"); // a's release woke b and kept it the slot
        const [woken] = h.jobs.splice(0) as [DeliveryJob];
        expect(woken.messageId).toBe(b);
        // c's job comes before b's: the slot is kept for b, so c waits.
        expect(await h.deliver(jobC)).toBe("waiting");
        expect(await h.deliver(woken)).toBe("delivered");
        await h.runJobs(); // b's release woke c
        expect(h.delivered).toEqual(["/kept-a", "/kept-b", "/kept-c"]);
        expect((await getFlowControl(h.ctx, "one-at-a-time")).waitListSize).toBe(0);
      }),
    );

    it(
      "frees the slot kept for a woken waiter cancelled before its job came, for the next waiter at once",
      test(async (h) => {
        await publishWith(h, "/gone-a", FLOW);
        const b = await publishWith(h, "/gone-b", FLOW);
        const [jobA, jobB] = h.jobs.splice(0) as [DeliveryJob, DeliveryJob];
        const heldA = h.hold("/gone-a");
        const runA = h.deliver(jobA);
        await heldA.sent;
        expect(await h.deliver(jobB)).toBe("waiting"); // b waits in the list
        await publishWith(h, "/gone-c", FLOW);
        await h.runJobs(); // c waits in the list behind b
        heldA.respond(answer(200));
        expect(await runA).toBe("delivered"); // a's release woke b and kept it the slot
        const [woken] = h.jobs.splice(0) as [DeliveryJob];
        expect(woken.messageId).toBe(b);
        await cancel(h, b);
        expect(["canceled", "skipped"]).toContain(await h.deliver(woken)); // gives the kept slot up
        await h.runJobs(); // c goes now, not once the kept slot lapses
        expect(h.delivered).toEqual(["/gone-a", "/gone-c"]);
      }),
    );

    it(
      "gives up the slot kept for a waiter whose job could not be sent, so the next wake-up gives it one at once",
      test(async (h) => {
        const a = await inFlight(h, "/a");
        const b = await publishWith(h, "/b", FLOW);
        await h.runJobs(); // b waits in the list
        // a's release wakes b: the waker keeps b a slot, and SQS refuses b's job.
        h.failNextDispatch(b);
        a.respond(answer(200));
        await expect(h.runJobs()).rejects.toThrow(/SQS answered 503/);
        expect(h.delivered).toEqual(["/a"]);
        expect((await getFlowControl(h.ctx, "one-at-a-time")).waitListSize).toBe(1);
        // The next wake-up (here the sweep's, a second later) finds the slot free, not kept for a job never sent.
        h.advance(1_000);
        await sweep(h.ctx);
        await h.runJobs();
        expect(h.delivered).toEqual(["/a", "/b"]);
        expect((await getFlowControl(h.ctx, "one-at-a-time")).waitListSize).toBe(0);
      }),
    );

    it(
      "delivers a message whose worker died holding its slot, once that hold goes stale",
      test(async (h) => {
        const { ctx } = h;
        const id = await publishWith(h, "/orphan", { ...FLOW, "Upstash-Delay": "1h" });
        // A worker took the slot for attempt 0 and died; then the job is delivered again.
        expect(await acquireFlowSlot(ctx, "one-at-a-time", { messageId: id, retried: 0 })).toEqual({
          admitted: true,
        });
        expect(await h.deliver({ messageId: id, retried: 0 })).toBe("waiting");
        await h.runJobs(); // whatever is due now has run
        expect(deliveredTo(h, "/orphan")).toHaveLength(0); // the hold is still live: it might be a duplicate
        h.advance((ctx.config.maxTimeoutSec + 61) * 1000);
        // The job was dispatched again for that time; run it as the job queue would then.
        expect(await h.deliver({ messageId: id, retried: 0 })).toBe("delivered");
        expect(deliveredTo(h, "/orphan")).toHaveLength(1);
      }),
    );

    it(
      "releases the slot of a worker that died after settling, when its job is delivered again",
      test(async (h) => {
        const { ctx } = h;
        const a = await publishWith(h, "/settled", { ...FLOW, "Upstash-Delay": "1h" });
        const job = { messageId: a, retried: 0 };
        expect(await acquireFlowSlot(ctx, "one-at-a-time", job)).toEqual({ admitted: true });
        // The attempt succeeded and was recorded; the worker died before releasing the slot.
        await ctx.store.updateStatus(a, { state: "CREATED", retried: 0 }, { state: "DELIVERED", retried: 0 }, []);
        await publishWith(h, "/behind", FLOW);
        await h.runJobs();
        expect(deliveredTo(h, "/behind")).toHaveLength(0); // waits for the slot
        expect(await h.deliver(job)).toBe("skipped"); // the redelivery
        await h.runJobs();
        expect(h.delivered).toContain("/behind");
      }),
    );

    it(
      "wakes the job of the next attempt even before the status records the previous attempt's failure",
      test(async (h) => {
        const { ctx } = h;
        const two = { "Upstash-Flow-Control-Key": "two-at-a-time", "Upstash-Flow-Control-Value": "parallelism=2" };
        const m = await publishWith(h, "/next-attempt", { ...two, "Upstash-Delay": "1h" });
        const x = await publishWith(h, "/other", { ...two, "Upstash-Delay": "1h" });
        // Attempt 0 of m and x hold both slots; m's attempt 0 failed and sent the job of attempt 1 before
        // recording RETRY (the order deliverMessage uses), and that job has to wait.
        await acquireFlowSlot(ctx, "two-at-a-time", { messageId: m, retried: 0 });
        await acquireFlowSlot(ctx, "two-at-a-time", { messageId: x, retried: 0 });
        expect(await h.deliver({ messageId: m, retried: 1 })).toBe("waiting");
        await releaseFlowSlot(ctx, "two-at-a-time", { messageId: x, retried: 0 });
        await h.runJobs();
        const attempt = h.requests.find((r) => new URL(r.url).pathname === "/next-attempt");
        expect(headerOf(attempt, "upstash-retried")).toBe("1");
      }),
    );

    it(
      "releases the slot of a worker that died holding it, when its message was cancelled meanwhile, once the hold is stale",
      test(async (h) => {
        const { ctx } = h;
        const a = await publishWith(h, "/cancelled-holder", { ...FLOW, "Upstash-Delay": "1h" });
        const job = { messageId: a, retried: 0 };
        expect(await acquireFlowSlot(ctx, "one-at-a-time", job)).toEqual({ admitted: true });
        // The worker died holding the slot; then the message is cancelled.
        expect(await cancel(h, a)).toEqual({ cancelled: 1 });
        await publishWith(h, "/behind-cancelled", FLOW);
        await h.runJobs();
        expect(deliveredTo(h, "/behind-cancelled")).toHaveLength(0); // waits for the slot
        // Redelivered while the hold is live, the job cannot tell a dead worker from a run in flight
        // (whose outcome would stand over the cancel): it comes back once the hold is stale (on AWS SQS
        // redelivers only after its visibility timeout, six attempt timeouts, so it finds it stale).
        expect(await h.deliver(job)).toBe("waiting");
        expect(deliveredTo(h, "/behind-cancelled")).toHaveLength(0);
        h.advance(17 * 60_000); // past the longest attempt (15 min locally) and a minute
        await h.runJobs(); // the job comes back: the message ends CANCELED, and the slot is freed
        expect(h.delivered).toContain("/behind-cancelled");
        expect(deliveredTo(h, "/cancelled-holder")).toHaveLength(0);
      }),
    );
  });

  describe(`Flow-control slots handed over within a process: ${name}`, () => {
    /** A run's allowance to wait in its process (the delivery Lambda's is its time left beyond an attempt). */
    const allowing = (ms: number): DeliverOptions => ({
      slotWait: (over) => {
        const timer = setTimeout(over, ms);
        return () => clearTimeout(timer);
      },
    });
    const waitAMinute = allowing(60_000);
    /** The jobs of messages published to the key, taken off the job queue to be run by the test. */
    const jobsOf = async (h: CoreHarness, ...paths: string[]): Promise<DeliveryJob[]> => {
      for (const path of paths) await publishWith(h, path, FLOW);
      return h.jobs.splice(0);
    };
    const twoJobs = async (h: CoreHarness, first: string, second: string) =>
      (await jobsOf(h, first, second)) as [DeliveryJob, DeliveryJob];
    /** Until `count` runs wait in this process for a slot of the key (a deadline, not a sleep). */
    const waitingInProcess = async (h: CoreHarness, count: number): Promise<void> => {
      const deadline = Date.now() + 5000;
      while (slotWaitersInProcess(h.ctx, "one-at-a-time") !== count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} runs waiting in the process`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };

    it(
      "gives a run waiting in the process the slot as the attempt holding it ends, with no wait-list entry",
      test(async (h) => {
        const [a, b] = await twoJobs(h, "/hand-a", "/hand-b");
        const heldA = h.hold("/hand-a");
        const heldB = h.hold("/hand-b");
        const runA = h.deliver(a, waitAMinute);
        await heldA.sent;
        const runB = h.deliver(b, waitAMinute);
        await waitingInProcess(h, 1);
        expect(h.delivered).toEqual(["/hand-a"]); // b waits: the key's one slot is a's
        heldA.respond(answer(200));
        expect(await runA).toBe("delivered");
        await heldB.sent; // b took a's slot over
        const view = await getFlowControl(h.ctx, "one-at-a-time");
        expect(view).toMatchObject({ parallelismCount: 1, waitListSize: 0 });
        heldB.respond(answer(200));
        expect(await runB).toBe("delivered");
        expect(h.delivered).toEqual(["/hand-a", "/hand-b"]);
        expect(h.jobs).toHaveLength(0); // nothing was dispatched again
        expect(await getFlowControl(h.ctx, "one-at-a-time")).toMatchObject({ parallelismCount: 0, waitListSize: 0 });
      }),
    );

    it(
      "sends a run whose wait ran out to the wait list, where the release wakes it",
      test(async (h) => {
        const [a, b] = await twoJobs(h, "/late-a", "/late-b");
        const heldA = h.hold("/late-a");
        const runA = h.deliver(a, waitAMinute);
        await heldA.sent;
        expect(await h.deliver(b, allowing(20))).toBe("waiting");
        expect(await getFlowControl(h.ctx, "one-at-a-time")).toMatchObject({ waitListSize: 1 });
        heldA.respond(answer(200));
        expect(await runA).toBe("delivered");
        await h.runJobs(); // the release woke b's entry
        expect(h.delivered).toEqual(["/late-a", "/late-b"]);
      }),
    );

    it(
      "sends a run waiting in the process to the wait list when the hand-over's write fails",
      test(async (h) => {
        const [a, b] = await twoJobs(h, "/fail-a", "/fail-b");
        const heldA = h.hold("/fail-a");
        const runA = h.deliver(a, waitAMinute);
        await heldA.sent;
        const runB = h.deliver(b, waitAMinute);
        await waitingInProcess(h, 1);
        const store = h.ctx.store as unknown as Record<string, unknown>;
        const swapRecord = store.swapRecord as (...args: unknown[]) => Promise<unknown>;
        let failed = false;
        store.swapRecord = async (...args: unknown[]) => {
          if (args[0] === "flowControl" && !failed) {
            failed = true;
            throw new Error("DynamoDB throttled");
          }
          return swapRecord.apply(h.ctx.store, args);
        };
        try {
          heldA.respond(answer(200));
          await expect(runA).rejects.toThrow("DynamoDB throttled"); // SQS gives a's job again
          expect(await runB).toBe("waiting"); // answered, not left waiting: it joined the list
        } finally {
          store.swapRecord = swapRecord;
        }
        expect(failed).toBe(true);
        expect(await getFlowControl(h.ctx, "one-at-a-time")).toMatchObject({ parallelismCount: 1, waitListSize: 1 });
        expect(slotWaitersInProcess(h.ctx, "one-at-a-time")).toBe(0);
        expect(h.delivered).toEqual(["/fail-a"]);
      }),
    );

    it(
      "wakes the wait list when a hand-over also dropped a stale hold, so the slot that frees does not idle",
      test(async (h) => {
        const key = "two-at-a-time";
        const two = { "Upstash-Flow-Control-Key": key, "Upstash-Flow-Control-Value": "parallelism=2" };
        const orphan = await publishWith(h, "/orphan", { ...two, "Upstash-Delay": "1h" });
        h.jobs.splice(0);
        // A worker took a slot and died; its hold goes stale a minute past the longest attempt.
        expect(await acquireFlowSlot(h.ctx, key, { messageId: orphan, retried: 0 })).toEqual({ admitted: true });
        h.advance(h.ctx.config.maxTimeoutSec * 1000 + 30_000);
        for (const path of ["/two-a", "/two-b", "/two-c"]) await publishWith(h, path, two);
        const [a, b, c] = h.jobs.splice(0) as [DeliveryJob, DeliveryJob, DeliveryJob];
        const heldA = h.hold("/two-a");
        const heldB = h.hold("/two-b");
        const runA = h.deliver(a, waitAMinute);
        await heldA.sent; // a and the orphan hold both slots
        expect(await h.deliver(c)).toBe("waiting"); // in the list (a run of another process)
        const runB = h.deliver(b, waitAMinute);
        const deadline = Date.now() + 5000;
        while (slotWaitersInProcess(h.ctx, key) !== 1) {
          if (Date.now() > deadline) throw new Error("expected b to wait in the process");
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        h.advance(31_000); // the orphan's hold is stale now
        heldA.respond(answer(200));
        expect(await runA).toBe("delivered");
        await heldB.sent; // b took a's slot over; the orphan's stale hold was dropped in the same write
        expect(h.jobs.map((job) => job.messageId)).toEqual([c.messageId]); // so c was woken for the other slot
        heldB.respond(answer(200));
        expect(await runB).toBe("delivered");
        await h.runJobs();
        expect(deliveredTo(h, "/two-c")).toHaveLength(1);
      }),
    );

    it(
      "hands the slot over in the process even with entries in the wait list, which the process's last release wakes",
      test(async (h) => {
        const [a, c, b] = (await jobsOf(h, "/first-a", "/first-c", "/first-b")) as [
          DeliveryJob,
          DeliveryJob,
          DeliveryJob,
        ];
        const heldA = h.hold("/first-a");
        const heldB = h.hold("/first-b");
        const runA = h.deliver(a, waitAMinute);
        await heldA.sent;
        expect(await h.deliver(c)).toBe("waiting"); // in the list (a run of another process)
        const runB = h.deliver(b, waitAMinute);
        await waitingInProcess(h, 1);
        heldA.respond(answer(200));
        expect(await runA).toBe("delivered");
        await heldB.sent; // b took a's slot over, ahead of c's entry
        expect(h.jobs).toHaveLength(0); // c was not woken: no slot came free
        expect(await getFlowControl(h.ctx, "one-at-a-time")).toMatchObject({ parallelismCount: 1, waitListSize: 1 });
        heldB.respond(answer(200));
        expect(await runB).toBe("delivered");
        expect(h.jobs.map((job) => job.messageId)).toEqual([c.messageId]); // b's release, the last here, woke c
        await h.runJobs();
        expect(h.delivered).toEqual(["/first-a", "/first-b", "/first-c"]);
        expect(slotWaitersInProcess(h.ctx, "one-at-a-time")).toBe(0);
        expect(await getFlowControl(h.ctx, "one-at-a-time")).toMatchObject({ parallelismCount: 0, waitListSize: 0 });
      }),
    );
  });
}
