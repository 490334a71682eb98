// A bulk cancel by filter (`cancel({all: true})`, `cancel({filter})`) against each Store, as a client sees
// it: every pending message it matches is cancelled, immediate ones before their first attempt included
// (on DynamoDB those are light records no list holds: a mark reaches them, core/cancel-marks.ts).
// Run by test/contract/{sqlite,aws}.contract.test.ts.
import { describe, expect, it } from "vitest";
import { MARKED_ANSWER_DELAY_MS } from "../../lambdas/core/cancel-marks.ts";
import { cancelMessages } from "../../lambdas/core/cancel.ts";
import { findMessage } from "../../lambdas/core/find-message.ts";
import type { DeliveryJob } from "../../lambdas/ports.ts";
import {
  logOf,
  publishTo,
  RECEIVER,
  withHarness,
  type CoreHarness,
  type OpenCoreFixture,
} from "../support/core-harness.ts";

const statesOf = async (h: CoreHarness, messageId: string): Promise<string[]> =>
  (await logOf(h, messageId)).map((logged) => logged.event.state);

export function bulkCancelContract(name: string, open: OpenCoreFixture): void {
  const test = (body: (h: CoreHarness) => Promise<void>) => withHarness(open, {}, body);

  describe(`Bulk cancel: ${name}`, () => {
    it(
      "cancels immediate messages whose first attempt has not started, and none published after it",
      test(async (h) => {
        const waiting = [await publishTo(h, "/first"), await publishTo(h, "/second")];
        const answer = await cancelMessages(h.ctx, { filter: {} });
        // A listed message is counted; a light record, reached by a mark, is not read, so not counted.
        expect(answer).toEqual({ cancelled: h.ctx.store.lightRecords ? 0 : 2 });
        h.advance(MARKED_ANSWER_DELAY_MS); // where a mark was written, the answer came that much later
        const later = await publishTo(h, "/later");
        for (const id of waiting) expect(await findMessage(h.ctx, id)).toBeUndefined();
        expect(await findMessage(h.ctx, later)).toBeDefined();

        await h.drain();
        expect(h.delivered).toEqual(["/later"]);
        for (const id of waiting) {
          expect(await statesOf(h, id)).toEqual(["CREATED", "CANCEL_REQUESTED", "CANCELED"]);
        }
        // Its job given again (SQS's duplicate) finds it cancelled.
        expect(await h.deliver({ messageId: waiting[0] as string, retried: 0, redelivered: true })).toBe("skipped");
        expect(h.delivered).toEqual(["/later"]);
      }),
    );

    it(
      "cancels only what its filter matches",
      test(async (h) => {
        const drop = await publishTo(h, "/drop", { headers: { "upstash-label": "batch-7" } });
        const otherUrl = await publishTo(h, "/other", { headers: { "upstash-label": "batch-7" } });
        const keep = await publishTo(h, "/keep", { headers: { "upstash-label": "batch-8" } });
        await cancelMessages(h.ctx, { filter: { label: ["batch-7"], url: [`${RECEIVER}/drop`] } });
        await cancelMessages(h.ctx, { filter: { label: ["batch-8"] }, toDate: h.clock.now() - 1 });
        expect(await findMessage(h.ctx, drop)).toBeUndefined();
        expect(await findMessage(h.ctx, otherUrl)).toBeDefined(); // its label matches, its URL does not
        expect(await findMessage(h.ctx, keep)).toBeDefined(); // created after the second cancel's toDate
        await h.drain();
        expect(h.delivered.toSorted()).toEqual(["/keep", "/other"]);
      }),
    );

    it(
      "leaves a message delivered before it as it was, when that message's job comes again",
      test(async (h) => {
        const done = await publishTo(h, "/done");
        const job = h.jobs.shift() as DeliveryJob;
        expect(await h.deliver(job)).toBe("delivered");
        await h.ctx.store.flushEvents?.();
        await cancelMessages(h.ctx, { filter: {} });
        expect(await h.deliver({ ...job, redelivered: true })).toBe("skipped");
        expect(await statesOf(h, done)).toEqual(["CREATED", "ACTIVE", "DELIVERED"]);
      }),
    );

    it(
      "cancels and counts the immediate messages a filter names by id",
      test(async (h) => {
        const named = await publishTo(h, "/named");
        await publishTo(h, "/unnamed");
        expect(await cancelMessages(h.ctx, { filter: { messageId: [named] } })).toEqual({ cancelled: 1 });
        expect(await findMessage(h.ctx, named)).toBeUndefined();
        await h.drain();
        expect(h.delivered).toEqual(["/unnamed"]);
      }),
    );

    it(
      "with a count it reached, leaves the rest for the next call",
      test(async (h) => {
        // Two messages wait for a delay (listed everywhere), one is immediate.
        const later = { headers: { "upstash-delay": "1m" } };
        await publishTo(h, "/delayed-1", later);
        await publishTo(h, "/delayed-2", later);
        h.advance(1); // the newest: a walk goes oldest first
        const immediate = await publishTo(h, "/now");
        expect(await cancelMessages(h.ctx, { filter: {}, count: 1 })).toEqual({ cancelled: 1 });
        expect(await findMessage(h.ctx, immediate)).toBeDefined();
        expect(await cancelMessages(h.ctx, { filter: {}, count: 5 })).toEqual({
          cancelled: h.ctx.store.lightRecords ? 1 : 2,
        });
        expect(await findMessage(h.ctx, immediate)).toBeUndefined();
        h.advance(60_000);
        await h.drain();
        expect(h.delivered).toEqual([]);
      }),
    );
  });
}
