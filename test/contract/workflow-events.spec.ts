// A wait for an event and a notify of it racing, against each Store: two API invocations at once (two
// Lambda containers on AWS), one the SDK's `POST /v2/wait`, the other a `POST /v2/notify/{runId}/{eventId}`
// (or a third party calling the run's webhook). Whatever the interleaving, the run resumes exactly once,
// with the event's data, and its timeout then loses. Run by test/contract/{sqlite,aws}.contract.test.ts.
import { describe, expect, it } from "vitest";
import type { HeraldContext } from "../../lambdas/core/context.ts";
import { listWaiters, notify, waitForEvent } from "../../lambdas/core/workflow-events.ts";
import { createRun } from "../../lambdas/core/workflow.ts";
import type { RecordStore } from "../../lambdas/ports.ts";
import { RECEIVER, withHarness, type CoreHarness, type OpenCoreFixture } from "../support/core-harness.ts";

const EVENT_ID = "evt_paid";
const DATA = "paid in full";

/** The store of one invocation, whose first call that `matches` waits until the test releases it. */
function gatedContext(ctx: HeraldContext, matches: (method: string, args: unknown[]) => boolean) {
  let arrived!: () => void;
  let release!: () => void;
  const reached = new Promise<void>((resolve) => (arrived = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  let gated = false;
  const store = new Proxy(ctx.store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        if (!gated && matches(String(property), args)) {
          gated = true;
          arrived();
          await released;
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { ctx: { ...ctx, store }, reached, release };
}

const onKind =
  (method: keyof RecordStore, kind: string, nth = 1) =>
  (called: string, args: unknown[]): boolean =>
    called === method && args[0] === kind && --nth === 0;

async function startRun(h: CoreHarness): Promise<string> {
  const runId = `wfr_race_${h.clock.now()}_${Math.random().toString(36).slice(2, 8)}`;
  await createRun(
    h.ctx,
    {
      runId,
      url: `${RECEIVER}/wf`,
      createdAt: h.clock.now(),
      state: "RUN_STARTED",
      initialMessageId: `msg_init_${runId}`,
      settings: { maxRetries: 0, header: {}, labels: [] },
    },
    [],
  );
  return runId;
}

/** What the SDK sends for `context.waitForEvent("wait", EVENT_ID, { timeout: "60s" })`. */
function waitFor(ctx: HeraldContext, runId: string): Promise<void> {
  const body = {
    url: `${RECEIVER}/wf`,
    timeout: "60s",
    timeoutHeaders: { "Upstash-Workflow-RunId": [runId] },
    step: { stepId: 1, stepName: "wait", stepType: "Wait", concurrent: 1, targetStep: 0 },
  };
  return waitForEvent(
    ctx,
    EVENT_ID,
    { "upstash-workflow-runid": runId },
    new TextEncoder().encode(JSON.stringify(body)),
  );
}

/** The steps that resumed the run (after its timeout came due and was run too), with their outcome. */
async function resumes(h: CoreHarness, runId: string) {
  h.advance(61_000);
  await h.drain();
  const steps = await h.ctx.store.listSteps(runId);
  return steps.map((step) => {
    const body = JSON.parse(new TextDecoder().decode(step.body)) as { waitTimeout: boolean; out?: string };
    return { timedOut: body.waitTimeout, data: body.out && Buffer.from(body.out, "base64").toString() };
  });
}

export function workflowEventsContract(name: string, open: OpenCoreFixture): void {
  const test = (body: (h: CoreHarness) => Promise<void>) => withHarness(open, {}, body);

  describe(`Workflow events, a wait and a notify at once: ${name}`, () => {
    it(
      "resumes the run when the notify found no waiter but the wait looked before the event was kept",
      test(async (h) => {
        const runId = await startRun(h);
        // The notify lists no waiter and is held before it keeps the event; the wait runs whole meanwhile.
        const notifier = gatedContext(h.ctx, onKind("swapRecord", "workflowEvent"));
        const notified = notify(notifier.ctx, EVENT_ID, DATA, runId);
        await notifier.reached;
        await waitFor(h.ctx, runId);
        notifier.release();
        expect((await notified).length).toBe(1);
        expect(await resumes(h, runId)).toEqual([{ timedOut: false, data: DATA }]);
      }),
    );

    it(
      "resumes the run once when each finds the other (the wait the kept event, the notify the waiter)",
      test(async (h) => {
        const runId = await startRun(h);
        // The notify keeps the event and is held before it looks for waiters again; the wait stores its
        // waiter, finds the event and resumes the run; then the notify looks again.
        const notifier = gatedContext(h.ctx, onKind("listRecords", "workflowWaiter", 2));
        const notified = notify(notifier.ctx, EVENT_ID, DATA, runId);
        await notifier.reached;
        await waitFor(h.ctx, runId);
        notifier.release();
        expect(await notified).toEqual([]);
        expect(await resumes(h, runId)).toEqual([{ timedOut: false, data: DATA }]);
      }),
    );

    it(
      "resumes the run once when the wait is held after storing its waiter and the notify runs whole",
      test(async (h) => {
        const runId = await startRun(h);
        const waiter = gatedContext(h.ctx, onKind("getRecord", "workflowEvent"));
        const waited = waitFor(waiter.ctx, runId);
        await waiter.reached;
        expect((await notify(h.ctx, EVENT_ID, DATA, runId)).length).toBe(1);
        waiter.release();
        await waited;
        expect(await resumes(h, runId)).toEqual([{ timedOut: false, data: DATA }]);
      }),
    );

    it(
      "times the run out once when its timeout takes the waiter between the notify's read and its write",
      test(async (h) => {
        const runId = await startRun(h);
        await waitFor(h.ctx, runId);
        // The notify read the waiter unclaimed and is held before its compare-and-set; the timeout comes due
        // and takes the waiter; the notify's write then loses, and the waiter it met says who won.
        const notifier = gatedContext(h.ctx, onKind("swapRecord", "workflowWaiter"));
        const notified = notify(notifier.ctx, EVENT_ID, DATA, runId);
        await notifier.reached;
        h.advance(61_000);
        await h.drain();
        notifier.release();
        expect(await notified).toEqual([]);
        expect(await resumes(h, runId)).toEqual([{ timedOut: true, data: undefined }]);
      }),
    );

    it(
      "times the run out when no event comes (the race's checks find nothing)",
      test(async (h) => {
        const runId = await startRun(h);
        await waitFor(h.ctx, runId);
        expect(await resumes(h, runId)).toEqual([{ timedOut: true, data: undefined }]);
      }),
    );
  });

  describe(`Workflow events, crashes and names: ${name}`, () => {
    it(
      "resumes the run when a notify died after taking the waiter and the client sends it again",
      test(async (h) => {
        const runId = await startRun(h);
        await waitFor(h.ctx, runId);
        // The notify's process dies at its next read of the run (publishing the result), after the claim.
        const dying = dyingContext(h.ctx, onKind("getRecord", "workflowRun"));
        await expect(notify(dying, EVENT_ID, DATA)).rejects.toThrow("process died");
        expect((await notify(h.ctx, EVENT_ID, DATA)).length).toBe(1);
        expect(await resumes(h, runId)).toEqual([{ timedOut: false, data: DATA }]);
      }),
    );

    it(
      "times the run out when its wait died after storing the waiter and the SDK sent the wait again",
      test(async (h) => {
        const runId = await startRun(h);
        const dying = dyingContext(h.ctx, onKind("getRecord", "workflowEvent")); // after the waiter is stored
        await expect(waitFor(dying, runId)).rejects.toThrow("process died");
        await waitFor(h.ctx, runId); // the SDK's delivery is given again: it calls /v2/wait again
        expect(await resumes(h, runId)).toEqual([{ timedOut: true, data: undefined }]);
      }),
    );

    it(
      "lists waiters without the token that made the wait, and keeps events whose ids hold a slash apart",
      test(async (h) => {
        const runId = await startRun(h);
        const body = {
          url: `${RECEIVER}/wf`,
          timeout: "60s",
          timeoutHeaders: { "Upstash-Workflow-RunId": [runId] },
          step: { stepId: 1, stepName: "wait", stepType: "Wait", concurrent: 1, targetStep: 0 },
        };
        const headers = { "upstash-workflow-runid": runId, authorization: "Bearer hrld_secret" };
        await waitForEvent(h.ctx, "a/b", headers, new TextEncoder().encode(JSON.stringify(body)));
        const [listed] = await listWaiters(h.ctx, "a/b");
        expect(listed?.headers).not.toHaveProperty("authorization");
        expect(JSON.stringify(listed)).not.toContain("hrld_secret");
        expect(await listWaiters(h.ctx, "a")).toEqual([]);
        expect(await notify(h.ctx, "a", DATA)).toEqual([]); // the waiter of "a/b" is not the event "a"'s
        expect((await notify(h.ctx, "a/b", DATA)).length).toBe(1);
      }),
    );
  });
}

/** The store of an invocation that dies at its first call that `matches` (and makes no call after it). */
function dyingContext(ctx: HeraldContext, matches: (method: string, args: unknown[]) => boolean) {
  let dead = false;
  const store = new Proxy(ctx.store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        if (dead || matches(String(property), args)) {
          dead = true;
          throw new Error("process died");
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { ...ctx, store };
}
