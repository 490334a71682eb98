// The periodic sweep (lambdas/core/sweep.ts) against each Store: the store is put in the state a crash
// leaves behind, with no later event on the queue or key, and only the sweep moves it on. Run by
// test/contract/sqlite.contract.test.ts and test/contract/aws.contract.test.ts.
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../lambdas/core/config.ts";
import { deliverMessage } from "../../lambdas/core/deliver.ts";
import { acceptMessage } from "../../lambdas/core/accept.ts";
import { acquireFlowSlot, type FlowControlState } from "../../lambdas/core/flow-control.ts";
import type { Message } from "../../lambdas/core/message.ts";
import { deleteQueue, upsertQueue } from "../../lambdas/core/queues.ts";
import { sweep } from "../../lambdas/core/sweep.ts";
import { harness, ProcessDied, START } from "../support/core-harness.ts";
import type { StoreFixture } from "./store.spec.ts";
import { putRecord } from "../../lambdas/core/records.ts";

const MINUTE = 60_000;
/** A short longest attempt: a lost turn is presumed lost after it plus 15 minutes, a hold stale after it plus 1. */
const CONFIG = { ...DEFAULT_CONFIG, maxTimeoutSec: 60 };
const LOST_AFTER = 16 * MINUTE;

const FLOW = { key: "one-at-a-time", parallelism: 1 };

/**
 * Two messages on a parallelism-1 key: the holder's worker took the slot and died (its attempt never
 * ran); the waiter's job found the slot taken and waits in the list.
 */
async function holderAndWaiter({ ctx, jobs, message }: ReturnType<typeof harness>): Promise<{ waiter: Message }> {
  const holder = message("/holder", { flowControl: FLOW });
  const waiter = message("/waiter", { flowControl: FLOW });
  await acceptMessage(ctx, holder);
  await acceptMessage(ctx, waiter);
  jobs.length = 0;
  expect(await acquireFlowSlot(ctx, FLOW.key, { messageId: holder.messageId, retried: 0 })).toEqual({
    admitted: true,
  });
  expect(await deliverMessage(ctx, { messageId: waiter.messageId, retried: 0 })).toBe("waiting");
  return { waiter };
}

export function sweepContract(name: string, open: () => Promise<StoreFixture>): void {
  describe(`Sweep: ${name}`, () => {
    const withHarness = (test: (h: ReturnType<typeof harness>) => Promise<void>) => async () => {
      const fixture = await open();
      try {
        await test(harness(fixture, { config: CONFIG }));
      } finally {
        await fixture.close();
      }
    };

    it(
      "gives a turn lost between its claim and its job again once presumed lost, once under two concurrent sweeps; the client's retry follows in order",
      withHarness(async ({ ctx, jobs, delivered, message, advance, diesAtDispatch, drain }) => {
        await upsertQueue(ctx, { queueName: "orders", parallelism: 1 });
        const stuck = message("/stuck", { queueName: "orders" });
        await expect(diesAtDispatch(() => acceptMessage(ctx, stuck))).rejects.toThrow(ProcessDied);
        const [head] = await ctx.store.headQueueEntries("orders", 1);
        expect(head).toMatchObject({ messageId: stuck.messageId, parked: false }); // its turn, but no job
        // The client got no 2xx and publishes again: a new message, behind the stuck one.
        const retried = message("/retried", { queueName: "orders" });
        expect(await acceptMessage(ctx, retried)).toBe(true);
        expect(jobs).toEqual([]);

        advance(LOST_AFTER - MINUTE);
        await sweep(ctx);
        expect(jobs).toEqual([]); // not presumed lost yet: its job could still be on its way

        advance(2 * MINUTE);
        await Promise.all([sweep(ctx), sweep(ctx)]);
        expect(jobs).toEqual([{ messageId: stuck.messageId, retried: 0 }]);
        await drain();
        expect(delivered).toEqual(["/stuck", "/retried"]);
        expect(await ctx.store.countQueueEntries("orders")).toBe(0);
        await sweep(ctx);
        expect(jobs).toEqual([]);
      }),
    );

    it(
      "gives back a turn whose job could not be sent, so the next pump gives it again at once",
      withHarness(async ({ ctx, jobs, delivered, message, failNextDispatch, drain }) => {
        await upsertQueue(ctx, { queueName: "flaky", parallelism: 1 });
        const first = message("/first", { queueName: "flaky" });
        failNextDispatch();
        await expect(acceptMessage(ctx, first)).rejects.toThrow(/503/);
        const [head] = await ctx.store.headQueueEntries("flaky", 1);
        expect(head).toMatchObject({ messageId: first.messageId, parked: true }); // no turn out without a job
        // The client's retry (a new message) pumps the queue: the first one goes first, without a sweep.
        const second = message("/second", { queueName: "flaky" });
        expect(await acceptMessage(ctx, second)).toBe(true);
        expect(jobs).toEqual([{ messageId: first.messageId, retried: 0 }]);
        await drain();
        expect(delivered).toEqual(["/first", "/second"]);
      }),
    );

    it(
      "finds the entries of a deleted queue through its marker, and drops the marker once it is old and empty",
      withHarness(async ({ ctx, jobs, delivered, message, advance, diesAtDispatch, drain }) => {
        await upsertQueue(ctx, { queueName: "gone", parallelism: 1, paused: true });
        const parked = message("/parked", { queueName: "gone" });
        await acceptMessage(ctx, parked);
        // The delete removed the settings, gave the now unpaused queue's head its turn, and died.
        await expect(diesAtDispatch(() => deleteQueue(ctx, "gone"))).rejects.toThrow(ProcessDied);
        expect(await ctx.store.getRecord("queue", "gone")).toBeUndefined();
        // Another deleted queue whose entry legitimately waits a day (its job is due then).
        await upsertQueue(ctx, { queueName: "later", parallelism: 1 });
        const dayLater = message("/day-later", { queueName: "later", notBefore: START + 86_400_000 });
        await acceptMessage(ctx, dayLater);
        await deleteQueue(ctx, "later");
        expect(jobs).toEqual([{ messageId: dayLater.messageId, retried: 0 }]);
        jobs.length = 0;

        advance(LOST_AFTER + MINUTE);
        await Promise.all([sweep(ctx), sweep(ctx)]);
        expect(jobs).toEqual([{ messageId: parked.messageId, retried: 0 }]);
        await drain();
        expect(delivered).toEqual(["/parked"]);
        expect(await ctx.store.getRecord("deletedQueue", "gone")).toBeDefined(); // young: kept

        advance(60 * MINUTE);
        await sweep(ctx);
        expect(jobs).toEqual([]); // the day-later turn is not presumed lost before its due time
        expect(await ctx.store.getRecord("deletedQueue", "gone")).toBeUndefined();
        expect(await ctx.store.getRecord("deletedQueue", "later")).toBeDefined(); // its entry is still there
      }),
    );

    it(
      "wakes a flow-control waiter stranded behind a dead worker's hold, before that worker's job comes back",
      withHarness(async (h) => {
        const { ctx, jobs, delivered, advance, drain } = h;
        const { waiter } = await holderAndWaiter(h);
        // The holder's job comes back only after the queue's visibility timeout (longer than the hold's
        // staleness on AWS); until then nothing releases the slot or wakes the waiter but the sweep.

        await sweep(ctx);
        expect(jobs).toEqual([]); // the hold is live: the slot is taken
        advance(CONFIG.maxTimeoutSec * 1000 + 2 * MINUTE);
        await Promise.all([sweep(ctx), sweep(ctx)]);
        expect(jobs.length).toBeGreaterThan(0);
        expect(new Set(jobs.map((j) => j.messageId))).toEqual(new Set([waiter.messageId]));
        await drain();
        expect(delivered).toEqual(["/waiter"]); // a second wake-up's job finds the attempt done
      }),
    );

    it(
      "wakes flow-control waiters whose release died between freeing the slot and waking them",
      withHarness(async (h) => {
        const { ctx, jobs, delivered, drain } = h;
        const { waiter } = await holderAndWaiter(h);
        // The holder's release freed the slot, and its process died before it woke the wait list.
        const state = await ctx.store.getRecord<FlowControlState>("flowControl", FLOW.key);
        if (!state) throw new Error("no flow-control state");
        const freed = { ...state.value, holders: {} };
        expect(await putRecord(ctx.store, "flowControl", FLOW.key, freed, state.version)).toBe(true);

        await Promise.all([sweep(ctx), sweep(ctx)]);
        expect(new Set(jobs.map((j) => j.messageId))).toEqual(new Set([waiter.messageId]));
        await drain();
        expect(delivered).toEqual(["/waiter"]);
      }),
    );
  });
}
