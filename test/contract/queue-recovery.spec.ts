// A queue must never stall for good when a process dies at the wrong moment. These specs put the store
// in the state such a crash leaves behind, then check the queue moves on, against each Store; core is
// driven as the API and the delivery workers drive it. Run by test/contract/{sqlite,aws}.contract.test.ts.
import { describe, expect, it } from "vitest";
import { getQueue, setQueuePaused, upsertQueue } from "../../lambdas/core/queues.ts";
import {
  answer,
  deliveredTo,
  ProcessDied,
  publishTo,
  withLocalSettings,
  type CoreHarness,
  type OpenCoreFixture,
} from "../support/core-harness.ts";

const MINUTE = 60_000;

/** `POST /v2/enqueue/<queue>/<destination>`, as one API invocation. */
const enqueue = (h: CoreHarness, queue: string, path: string) => publishTo(h, path, { queueName: queue });

export function queueRecoveryContract(name: string, open: OpenCoreFixture): void {
  const test = withLocalSettings(open);

  describe(`Queue recovery: ${name}`, () => {
    it(
      "moves on when the run that finished the head died before ending its queue entry",
      test(async (h) => {
        const { ctx } = h;
        await upsertQueue(ctx, { queueName: "crashy", parallelism: 1, paused: true });
        const first = await enqueue(h, "crashy", "/first");
        // The head's attempt succeeded and was recorded, then the process died: its entry is still there.
        await ctx.store.updateStatus(first, { state: "CREATED", retried: 0 }, { state: "DELIVERED", retried: 0 }, []);
        await enqueue(h, "crashy", "/second");
        await setQueuePaused(ctx, "crashy", false);
        await h.runJobs();
        expect(h.delivered).toContain("/second");
        expect(deliveredTo(h, "/first")).toHaveLength(0); // delivered once already, not again
        expect((await getQueue(ctx, "crashy")).lag).toBe(0);
      }),
    );

    it(
      "gives a turn again when its job was lost between the claim and the dispatch",
      test(async (h) => {
        const { ctx } = h;
        await upsertQueue(ctx, { queueName: "lost", parallelism: 1, paused: true });
        await enqueue(h, "lost", "/lost-first");
        const [head] = await ctx.store.headQueueEntries("lost", 1);
        // The turn was claimed, then the process died before dispatching the job.
        expect(await ctx.store.setQueueEntryParked("lost", head?.seq as number, false, h.clock.now())).toBe(true);
        await upsertQueue(ctx, { queueName: "lost", parallelism: 1, paused: false });
        await h.runJobs(); // whatever the resume gave out has run
        expect(h.jobs).toEqual([]);
        expect(deliveredTo(h, "/lost-first")).toHaveLength(0); // not yet presumed lost: it could still be on its way
        h.advance(31 * MINUTE); // past the longest attempt (15 min locally) and the margin (15 min)
        await enqueue(h, "lost", "/lost-second");
        await h.runJobs();
        expect(h.delivered).toEqual(["/lost-first", "/lost-second"]);
      }),
    );

    it(
      "gives a turn again when its job was lost between the claim and the dispatch, for a head waiting for its retry",
      test(async (h) => {
        const { ctx } = h;
        await upsertQueue(ctx, { queueName: "lost-retry", parallelism: 1 });
        h.failsOnce("/lost-retry");
        await publishTo(h, "/lost-retry", {
          queueName: "lost-retry",
          headers: { "Upstash-Retries": "1", "Upstash-Retry-Delay": "1000" },
        });
        await enqueue(h, "lost-retry", "/lost-retry-next");
        await h.runJobs(); // the first attempt fails: its retry waits a second, holding the queue
        await setQueuePaused(ctx, "lost-retry", true);
        h.advance(1_000);
        await h.runJobs(); // the retry's job finds the queue paused: the head parks
        expect(h.delivered).toEqual(["/lost-retry"]);
        // The resume's pump claims the head's turn, then its process dies before dispatching the job.
        await expect(h.diesAtDispatch(() => setQueuePaused(ctx, "lost-retry", false))).rejects.toBeInstanceOf(
          ProcessDied,
        );
        await h.runJobs();
        expect(h.delivered).toEqual(["/lost-retry"]); // not yet presumed lost
        h.advance(31 * MINUTE); // past the longest attempt (15 min locally) and the margin (15 min)
        await enqueue(h, "lost-retry", "/lost-retry-last"); // pumps the queue
        await h.runJobs();
        expect(h.delivered).toEqual(["/lost-retry", "/lost-retry", "/lost-retry-next", "/lost-retry-last"]);
        expect((await getQueue(ctx, "lost-retry")).lag).toBe(0);
      }),
    );

    it(
      "does not give a turn again to a head that waited long and is in flight now",
      test(async (h) => {
        const { ctx } = h;
        const slow = h.hold("/slow");
        await upsertQueue(ctx, { queueName: "long-wait", parallelism: 1, paused: true });
        await enqueue(h, "long-wait", "/slow");
        h.advance(40 * MINUTE); // it waited 40 minutes for its turn
        await setQueuePaused(ctx, "long-wait", false);
        await h.runJobs();
        await slow.sent; // in flight
        for (let i = 0; i < 3; i++) await enqueue(h, "long-wait", `/after-${i}`); // each pumps the queue
        await h.runJobs(); // a turn given again would be attempted now, while the first is in flight
        slow.respond(answer(200));
        await h.runJobs();
        expect(h.delivered).toContain("/after-2");
        expect(deliveredTo(h, "/slow")).toHaveLength(1);
      }),
    );

    it(
      "gives a lost turn again once, however many pumps run while it is in flight",
      test(async (h) => {
        const { ctx } = h;
        const slow = h.hold("/lost-slow");
        await upsertQueue(ctx, { queueName: "lost-once", parallelism: 2, paused: true });
        await enqueue(h, "lost-once", "/lost-slow");
        const [head] = await ctx.store.headQueueEntries("lost-once", 1);
        await ctx.store.setQueueEntryParked("lost-once", head?.seq as number, false, h.clock.now()); // claimed, then a crash
        await setQueuePaused(ctx, "lost-once", false);
        h.advance(31 * MINUTE);
        await Promise.all([0, 1, 2, 3].map((i) => enqueue(h, "lost-once", `/lost-next-${i}`))); // four pumps at once
        // The lost turn's attempt stays in flight while the other turn runs the rest, each end a pump.
        await h.runJobs();
        await slow.sent;
        expect(h.delivered).toContain("/lost-next-3");
        slow.respond(answer(200));
        await h.runJobs(); // every run, a second one of the lost turn included, is over
        expect(deliveredTo(h, "/lost-slow")).toHaveLength(1);
      }),
    );
  });
}
