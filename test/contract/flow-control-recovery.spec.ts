// Flow-control wait lists must never strand a message: cancelled waiters and crashed holders included.
// Against each Store; core is driven as the API and the delivery workers drive it. Run by
// test/contract/{sqlite,aws}.contract.test.ts.
import { describe, expect, it } from "vitest";
import { cancelMessage } from "../../lambdas/core/cancel.ts";
import { acquireFlowSlot, releaseFlowSlot } from "../../lambdas/core/flow-control.ts";
import {
  answer,
  deliveredTo,
  headerOf,
  publishTo,
  withLocalSettings,
  type CoreHarness,
  type OpenCoreFixture,
} from "../support/core-harness.ts";

const FLOW = { "Upstash-Flow-Control-Key": "one-at-a-time", "Upstash-Flow-Control-Value": "parallelism=1" };

/** `POST /v2/publish/<destination>` with these headers. */
const publishWith = (h: CoreHarness, path: string, headers: Record<string, string>) => publishTo(h, path, { headers });

/** `DELETE /v2/messages/<id>`: the API answers 200 with what core returns. */
const cancel = (h: CoreHarness, messageId: string) => h.invoke(() => cancelMessage(h.ctx, messageId));

export function flowControlRecoveryContract(name: string, open: OpenCoreFixture): void {
  const test = withLocalSettings(open);

  describe(`Flow-control recovery: ${name}`, () => {
    it(
      "wakes the next waiter when the one ahead of it was cancelled",
      test(async (h) => {
        const a = h.hold("/a");
        await publishWith(h, "/a", FLOW);
        await h.runJobs();
        await a.sent; // in flight
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
      "releases the slot of a worker that died holding it, when its message was cancelled meanwhile",
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
        expect(await h.deliver(job)).toBe("canceled"); // the redelivery
        await h.runJobs();
        expect(h.delivered).toContain("/behind-cancelled");
        expect(deliveredTo(h, "/cancelled-holder")).toHaveLength(0);
      }),
    );
  });
}
