// Races around one attempt, against each Store: a cancel while it is in flight, the previous attempt's
// record landing late, a dispatch that failed. Only the outside world (the destination, the queue, the
// keys) is played by the doubles of test/support/core-harness.ts. Run by test/contract/{sqlite,aws}.contract.test.ts.
import { describe, expect, it } from "vitest";
import { acceptMessage } from "../../lambdas/core/accept.ts";
import { cancelMessage, cancelMessages } from "../../lambdas/core/cancel.ts";
import { deliverMessage } from "../../lambdas/core/deliver.ts";
import { findMessage } from "../../lambdas/core/find-message.ts";
import { dlqIdFor, newMessageId } from "../../lambdas/core/ids.ts";
import { createSchedule, fireSchedule, getSchedule } from "../../lambdas/core/schedules.ts";
import type { DeliveryJob, SendOutcome, Store } from "../../lambdas/ports.ts";
import {
  answer,
  deliveredTo,
  publishTo,
  RECEIVER,
  withHarness,
  type CoreHarness,
  type OpenCoreFixture,
} from "../support/core-harness.ts";

const failure: SendOutcome = answer(500);

/** The next job dispatched, once one is (a run in progress dispatches it). */
async function eventuallyJob(h: CoreHarness): Promise<DeliveryJob> {
  for (let i = 0; i < 1000 && h.jobs.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 2));
  return h.jobs.shift() as DeliveryJob;
}
const success: SendOutcome = answer(200);

/**
 * The store with one method played by the test (a concurrent writer's timing); the rest are the store's
 * own, and `method` may call the store's.
 */
function withMethod<K extends keyof Store>(store: Store, name: K, method: Store[K]): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === name) return method;
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function cancelInFlight(h: CoreHarness, maxRetries: number, outcome: SendOutcome) {
  const message = h.message("/hook", { maxRetries });
  await acceptMessage(h.ctx, message);
  const held = h.hold("/hook");
  const attempt = h.deliver({ messageId: message.messageId, retried: 0 });
  await held.sent;
  expect(await cancelMessage(h.ctx, message.messageId)).toEqual({ cancelled: 1 });
  held.respond(outcome);
  const result = await attempt;
  const stored = await h.ctx.store.getMessage(message.messageId);
  const dlq = await h.ctx.store.getDlq(dlqIdFor(message));
  await h.ctx.store.flushEvents?.();
  const events = [];
  for await (const { item } of h.ctx.store.scanEvents({ order: "earliestFirst", messageIds: [message.messageId] })) {
    events.push(item.event.state);
  }
  return { result, state: stored?.status.state, logged: events.at(-1), dlq, message };
}

export function deliveryRacesContract(name: string, open: OpenCoreFixture): void {
  const test = (body: (h: CoreHarness) => Promise<void>) => withHarness(open, {}, body);

  describe(`Delivery races: ${name}`, () => {
    describe("cancel while an attempt is in flight", () => {
      it(
        "ends CANCELED instead of retrying when the attempt fails with retries left",
        test(async (h) => {
          const { state, dlq, message } = await cancelInFlight(h, 3, failure);
          expect(state).toBe("CANCELED");
          expect(dlq).toBeUndefined();
          // The next attempt had been queued before the outcome was recorded; it finds the message cancelled.
          expect(await h.deliver({ messageId: message.messageId, retried: 1 })).toBe("skipped");
        }),
      );

      it(
        "ends FAILED with its DLQ entry when it was the last attempt (too late to cancel)",
        test(async (h) => {
          const { state, dlq } = await cancelInFlight(h, 0, failure);
          expect(state).toBe("FAILED");
          expect(dlq?.response?.status).toBe(500);
        }),
      );

      it(
        "ends DELIVERED when the attempt succeeds (too late to cancel)",
        test(async (h) => {
          const { state, result, logged, message } = await cancelInFlight(h, 3, success);
          expect(result).toBe("delivered");
          expect(logged).toBe("DELIVERED");
          expect(await findMessage(h.ctx, message.messageId)).toBeUndefined(); // gone for GET and DELETE
          // A light record (DynamoDB) logs a first attempt's success without writing it over the cancel.
          expect(h.ctx.store.lightRecords ? ["DELIVERED", "CANCEL_REQUESTED"] : ["DELIVERED"]).toContain(state);
        }),
      );
    });

    describe("a cancel whose read an attempt's outcome overtakes", () => {
      /** Cancels while the attempt in flight gets `outcome` between the cancel's read and its write. */
      async function cancelOvertakenBy(h: CoreHarness, outcome: SendOutcome) {
        const message = h.message("/hook", { maxRetries: 3 });
        await acceptMessage(h.ctx, message);
        const held = h.hold("/hook");
        const attempt = h.deliver({ messageId: message.messageId, retried: 0 });
        await held.sent;
        let overtaken: Promise<unknown> | undefined;
        const store = new Proxy(h.ctx.store, {
          get(target, key, receiver) {
            if (key !== "getMessage") return Reflect.get(target, key, receiver) as unknown;
            return async (id: string) => {
              const read = await target.getMessage(id);
              if (!overtaken) {
                held.respond(outcome);
                overtaken = attempt;
                await attempt;
              }
              return read;
            };
          },
        });
        const cancel = await cancelMessage({ ...h.ctx, store }, message.messageId).catch((error: unknown) => error);
        return { message, cancel, attempt: await (overtaken ?? "not overtaken") };
      }

      it(
        "answers 404 when the attempt delivered it",
        test(async (h) => {
          const { cancel, attempt } = await cancelOvertakenBy(h, success);
          expect(attempt).toBe("delivered");
          expect(cancel).toMatchObject({ status: 404 });
        }),
      );

      it(
        "reads the message again and cancels it in RETRY, instead of answering 404",
        test(async (h) => {
          const { message, cancel, attempt } = await cancelOvertakenBy(h, failure);
          expect(attempt).toBe("retry");
          expect(cancel).toEqual({ cancelled: 1 });
          expect((await h.ctx.store.getMessage(message.messageId))?.status.state).toBe("CANCEL_REQUESTED");
          // The retry the failure queued ends it, unattempted.
          expect(await h.deliver({ messageId: message.messageId, retried: 1 })).toBe("canceled");
          expect(deliveredTo(h, "/hook")).toHaveLength(1);
          expect((await h.ctx.store.getMessage(message.messageId))?.status.state).toBe("CANCELED");
        }),
      );
    });

    describe("an attempt whose predecessor's RETRY record lands late", () => {
      it(
        "applies its outcome on top of it instead of leaving the message in RETRY",
        test(async (h) => {
          const message = h.message("/hook", { maxRetries: 3 });
          await acceptMessage(h.ctx, message);
          // Attempt 0 failed and dispatched job 1, but its status write has not landed yet.
          const held = h.hold("/hook");
          const attempt = h.deliver({ messageId: message.messageId, retried: 1 });
          await held.sent;
          const first = (await h.ctx.store.getMessage(message.messageId))?.status;
          expect(first).toMatchObject({ state: "CREATED", retried: 0 });
          await h.ctx.store.updateStatus(
            message.messageId,
            first as NonNullable<typeof first>,
            { state: "RETRY", retried: 1 },
            [],
          );
          held.respond(success);
          expect(await attempt).toBe("delivered");
          expect((await h.ctx.store.getMessage(message.messageId))?.status).toEqual({
            state: "DELIVERED",
            retried: 1,
          });
        }),
      );
    });

    describe("a job given again after its attempt succeeded (a batch that timed out)", () => {
      it(
        "is not attempted again, nor is a callback of it dispatched again",
        test(async (h) => {
          const message = h.message("/once", { callback: { url: "https://receiver.example/once-cb", header: {} } });
          await acceptMessage(h.ctx, message);
          const job = h.jobs.shift() as NonNullable<(typeof h.jobs)[number]>;
          expect(await h.deliver(job)).toBe("delivered");
          await h.drain(); // the callback
          expect(await h.deliver({ ...job, redelivered: true })).toBe("skipped");
          await h.drain();
          expect(deliveredTo(h, "/once")).toHaveLength(1);
          expect(deliveredTo(h, "/once-cb")).toHaveLength(1);
        }),
      );
    });

    describe("a message delivered at once, read after the retention (while its item may live on)", () => {
      it(
        "is not found, nor cancelled",
        test(async (h) => {
          const message = h.message("/long-ago");
          await acceptMessage(h.ctx, message);
          await h.drain();
          expect(deliveredTo(h, "/long-ago")).toHaveLength(1);
          expect(await findMessage(h.ctx, message.messageId)).toBeUndefined();
          // Past the retention and a day (the log's own window), within the item's expiry (4 days more
          // with 3 retries): on DynamoDB a light record no longer finds its DELIVERED in the log.
          h.advance(h.ctx.config.retentionMs + 86_400_000 + 3_600_000);
          expect(await findMessage(h.ctx, message.messageId)).toBeUndefined();
          await expect(cancelMessage(h.ctx, message.messageId)).rejects.toThrow(/not found or no longer pending/);
        }),
      );
    });

    describe("a cancel while the next attempt is in flight, its predecessor's RETRY landing after it", () => {
      it(
        "ends DELIVERED when that attempt succeeds, as any attempt in flight when the cancel came",
        test(async (h) => {
          const message = h.message("/next-in-flight", { maxRetries: 3, retryDelayExpression: "0" });
          await acceptMessage(h.ctx, message);
          const id = message.messageId;
          const first = h.jobs.shift() as DeliveryJob;
          // Attempt 0's status write (RETRY 1, or what it becomes) waits until the test lets it go.
          let release!: () => void;
          const gate = new Promise<void>((resolve) => (release = resolve));
          const store = h.ctx.store;
          const slow = withMethod(store, "updateStatus", async (...args) => {
            if (args[2].state === "RETRY" || args[2].state === "CANCELED") await gate;
            return store.updateStatus(...args);
          });
          h.respondWith(() => failure);
          const run0 = h.invoke(() => deliverMessage({ ...h.ctx, store: slow }, first));
          // Attempt 0 failed; its next job, due at once, was dispatched before its status write.
          const next = await eventuallyJob(h);
          expect(next).toEqual({ messageId: id, retried: 1 });
          const held = h.hold("/next-in-flight");
          const run1 = h.deliver(next); // reads the status one behind (CREATED 0), as allowed
          await held.sent;
          expect(await cancelMessage(h.ctx, id)).toEqual({ cancelled: 1 });
          release(); // attempt 0's RETRY meets the cancel
          expect(await run0).toBe("retry");
          held.respond(success);
          expect(await run1).toBe("delivered");
          expect((await store.getMessage(id))?.status).toEqual({ state: "DELIVERED", retried: 1 });
        }),
      );
    });

    describe("a bulk cancel whose hits fail an attempt while it scans", () => {
      it(
        "cancels them still, now retrying, as cancel({all: true}) promises",
        test(async (h) => {
          // Two delayed messages, listed as pending; each one's attempt fails (RETRY 1) between the scan's
          // read of it and the cancel's write, as a delivery running beside the cancel does.
          const later = h.clock.now() + 60_000;
          const ids: string[] = [];
          for (const path of ["/bulk-a", "/bulk-b"]) {
            const message = h.message(path, { maxRetries: 3, notBefore: later });
            await acceptMessage(h.ctx, message);
            ids.push(message.messageId);
          }
          const store = h.ctx.store;
          const failingUnderTheScan = withMethod(store, "scanMessages", async function* (...args) {
            for await (const hit of store.scanMessages(...args)) {
              const next = { state: "RETRY" as const, retried: hit.status.retried + 1 };
              expect(await store.updateStatus(hit.message.messageId, hit.status, next, [])).toBe(true);
              yield hit;
            }
          });
          expect(await cancelMessages({ ...h.ctx, store: failingUnderTheScan }, { filter: {} })).toEqual({
            cancelled: 2,
          });
          for (const id of ids) {
            expect((await store.getMessage(id))?.status).toEqual({ state: "CANCEL_REQUESTED", retried: 1 });
          }
          // The retries' jobs come and end them, unattempted.
          for (const id of ids) expect(await h.deliver({ messageId: id, retried: 1 })).toBe("canceled");
          expect(h.delivered).toEqual([]);
        }),
      );
    });

    describe("a bulk cancel while an immediate message's first attempt is in flight", () => {
      it(
        "makes no retry when that attempt fails (on AWS the message was unlisted: its RETRY meets the mark)",
        test(async (h) => {
          const id = await publishTo(h, "/in-flight", { headers: { "upstash-retries": "3" } });
          const held = h.hold("/in-flight");
          const attempt = h.deliver(h.jobs.shift() as DeliveryJob);
          await held.sent;
          await cancelMessages(h.ctx, { filter: {} });
          held.respond(failure);
          await attempt;
          h.advance(86_400_000); // past any backoff: a retry's job would be due
          await h.drain();
          expect(h.delivered).toEqual(["/in-flight"]);
          expect(await findMessage(h.ctx, id)).toBeUndefined();
          expect((await h.ctx.store.getMessage(id))?.status.state).toBe("CANCELED");
        }),
      );

      it(
        "ends it CANCELED when a cancel by id wrote its status first, between the delivery's read and its write",
        test(async (h) => {
          const id = await publishTo(h, "/raced");
          await cancelMessages(h.ctx, { filter: {} });
          const store = h.ctx.store;
          let raced = false;
          const racedByCancel = withMethod(store, "updateStatus", async (messageId, expected, next, events) => {
            if (!raced && next.state === "CANCELED") {
              raced = true; // another process, whose marks were read before the bulk cancel, cancels by id
              const current = (await store.getMessage(messageId))?.status;
              if (current?.state === "CREATED") {
                await store.updateStatus(messageId, current, { ...current, state: "CANCEL_REQUESTED" }, []);
              }
            }
            return store.updateStatus(messageId, expected, next, events);
          });
          const job = h.jobs.shift() as DeliveryJob;
          expect(await deliverMessage({ ...h.ctx, store: racedByCancel }, job)).toBe("canceled");
          expect(raced).toBe(true);
          expect((await store.getMessage(id))?.status.state).toBe("CANCELED");
          expect(h.delivered).toEqual([]);
        }),
      );
    });

    describe("two failed callbacks of different messages, in one millisecond", () => {
      it(
        "get a DLQ entry each, though their ids end alike",
        test(async (h) => {
          h.respondWith(() => answer(500)); // the destinations and the callback endpoint are all down
          const callback = { url: `${RECEIVER}/cb`, header: {}, retries: 0 };
          // Two ids whose last four characters agree: their callbacks' ids (`<id>_cb0`) end alike.
          const [a, b] = [1, 2].map(() => `${newMessageId(h.clock.now()).slice(0, -4)}WXYZ`);
          await acceptMessage(h.ctx, h.message("/a", { messageId: a as string, maxRetries: 0, callback }));
          await acceptMessage(h.ctx, h.message("/b", { messageId: b as string, maxRetries: 0, callback }));
          await h.drain();
          const entries: string[] = [];
          for await (const { item } of h.ctx.store.scanDlq({ order: "earliestFirst" })) {
            entries.push(item.message.messageId);
          }
          expect(entries.toSorted()).toEqual([a, `${a}_cb0`, b, `${b}_cb0`].toSorted());
        }),
      );
    });

    describe("a derived id created again while its first job waits (a firing or an attempt processed twice)", () => {
      it(
        "is attempted once: the job sent again finds the first one's delivery",
        test(async (h) => {
          const base = h.message("/created-twice");
          const message = { ...base, messageId: `${base.messageId}_cb0` };
          expect(await acceptMessage(h.ctx, message)).toBe(true);
          expect(await acceptMessage(h.ctx, message)).toBe(false); // not stored again, but sent again
          const [first, again] = h.jobs.splice(0) as [DeliveryJob, DeliveryJob];
          expect(again.messageId).toBe(message.messageId);
          expect(await h.deliver(first)).toBe("delivered");
          expect(await h.deliver(again)).toBe("skipped");
          expect(deliveredTo(h, "/created-twice")).toHaveLength(1);
        }),
      );
    });

    describe("a schedule's firing processed twice (Scheduler's or SQS's duplicate) while its first job waits", () => {
      it(
        "is delivered once, and the schedule shows the firing succeeded",
        test(async (h) => {
          const { scheduleId } = await h.invoke(() =>
            createSchedule(h.ctx, {
              destination: `${RECEIVER}/fired-twice`,
              rawQuery: "",
              headers: { "upstash-cron": "* * * * *" },
              body: new TextEncoder().encode("tick"),
            }),
          );
          // Fired at its next firing time, as Scheduler fires it (never at a minute before it was made).
          const firedAt = (await getSchedule(h.ctx, scheduleId)).nextScheduleTime as number;
          const [id] = await h.invoke(() => fireSchedule(h.ctx, scheduleId, firedAt));
          expect(await h.invoke(() => fireSchedule(h.ctx, scheduleId, firedAt))).toEqual([id]);
          const [first, again] = h.jobs.splice(0) as [DeliveryJob, DeliveryJob];
          expect([first.messageId, again.messageId]).toEqual([id, id]);
          expect(await h.deliver(first)).toBe("delivered");
          expect(await h.deliver(again)).toBe("skipped");
          expect(deliveredTo(h, "/fired-twice")).toHaveLength(1);
          const view = await getSchedule(h.ctx, scheduleId);
          expect(view.lastScheduleStates).toEqual({ [id as string]: "SUCCESS" });
        }),
      );
    });

    describe("a flow-control waiter given two jobs", () => {
      it(
        "is attempted once when the second job read the status before the first settled and took the slot after",
        test(async (h) => {
          const id = await publishTo(h, "/fc-twice", {
            headers: { "Upstash-Flow-Control-Key": "twice", "Upstash-Flow-Control-Value": "parallelism=1" },
          });
          const job = h.jobs.shift() as NonNullable<(typeof h.jobs)[number]>;
          expect(job.messageId).toBe(id);
          const held = h.hold("/fc-twice");
          const first = h.deliver(job);
          await held.sent; // the first run holds the key's only slot, its attempt in flight
          // The second run reads the status now, then waits until the first run is over before asking for
          // the slot (in one process, changes of the key's record commit in order, so the wait is held
          // before the slot request rather than inside it, as a second process's would be).
          const store = h.ctx.store as unknown as Record<string, unknown>;
          const getMessage = store.getMessage as (...args: unknown[]) => Promise<unknown>;
          let reached!: () => void;
          const atSlot = new Promise<void>((resolve) => (reached = resolve));
          let open!: () => void;
          const gate = new Promise<void>((resolve) => (open = resolve));
          let armed = true;
          store.getMessage = async (...args: unknown[]) => {
            const read = await getMessage.apply(h.ctx.store, args);
            if (armed) {
              armed = false;
              reached();
              await gate;
            }
            return read;
          };
          try {
            const second = h.deliver({ ...job });
            await atSlot;
            held.respond(answer(200));
            expect(await first).toBe("delivered");
            open();
            await second;
          } finally {
            store.getMessage = getMessage;
          }
          expect(deliveredTo(h, "/fc-twice")).toHaveLength(1);
        }),
      );
    });

    describe("a callback whose dispatch failed", () => {
      it(
        "is dispatched when the attempt runs again",
        test(async (h) => {
          const message = h.message("/hook", { callback: { url: "https://example.com/cb", header: {} } });
          const callbackId = `${message.messageId}_cb0`;
          h.failNextDispatch(callbackId, "SQS throttled"); // fails once, like a throttled SendMessage
          await acceptMessage(h.ctx, message);
          const firstSend = h.hold("/hook");
          const first = h.deliver({ messageId: message.messageId, retried: 0 });
          await firstSend.sent;
          firstSend.respond(success);
          await expect(first).rejects.toThrow(/throttled/);
          expect(h.jobs.map((j) => j.messageId)).not.toContain(callbackId);

          // The job is redelivered (SQS / the job table keep it): the attempt runs again and the callback goes out.
          const againSend = h.hold("/hook");
          const again = h.deliver({ messageId: message.messageId, retried: 0 });
          await againSend.sent;
          againSend.respond(success);
          expect(await again).toBe("delivered");
          expect(h.jobs.map((j) => j.messageId)).toContain(callbackId);
        }),
      );
    });
  });
}
