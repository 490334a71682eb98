// Upstash Workflow on Herald: the official `@upstash/workflow` SDK as the app (its generic serve behind a
// node:http bridge, every delivery verified by its Receiver) and the Workflow Client as the driver.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { WorkflowContext, Client as WorkflowClient } from "@upstash/workflow";
import { describeEachMode, eventually, startHerald, type TestHerald } from "../support/herald.ts";
import { startWorkflowApp, workflowClients, type WorkflowApp } from "../support/workflow-app.ts";

interface LoggedEvent {
  messageId: string;
  state: string;
  time: number;
}

describeEachMode("Upstash Workflow", (mode) => {
  let herald: TestHerald;
  let app: WorkflowApp;
  let client: WorkflowClient;
  let thirdParty: http.Server;
  let thirdPartyUrl: string;
  const thirdPartyCalls: { headers: http.IncomingHttpHeaders; body: string }[] = [];

  beforeAll(async () => {
    herald = await startHerald({ mode });
    app = await startWorkflowApp(herald);
    client = (await workflowClients(herald)).workflow;
    thirdParty = http.createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        thirdPartyCalls.push({ headers: req.headers, body });
        res.writeHead(201, { "content-type": "application/json" });
        res.end(JSON.stringify({ got: JSON.parse(body || "null") }));
      });
    });
    await new Promise<void>((resolve) => thirdParty.listen(0, "127.0.0.1", resolve));
    thirdPartyUrl = `http://127.0.0.1:${(thirdParty.address() as AddressInfo).port}/third`;
  });
  afterAll(async () => {
    await app?.close();
    thirdParty?.closeAllConnections();
    await new Promise<void>((resolve) => thirdParty?.close(() => resolve()));
    await herald?.close();
  });

  it("runs each step once: steps, a 2 s sleep, parallel steps and a call to a third party", async () => {
    const ran: Record<string, number> = {};
    const count = (name: string): void => void (ran[name] = (ran[name] ?? 0) + 1);
    let finished: ((value: Record<string, unknown>) => void) | undefined;
    const result = new Promise<Record<string, unknown>>((resolve) => (finished = resolve));
    app.route<{ name: string }>("/wf/steps", async (context) => {
      const first = await context.run("first", async () => {
        count("first");
        return `hello ${context.requestPayload.name}`;
      });
      const beforeSleep = await context.run("clock", async () => Date.now());
      await context.sleep("nap", 2);
      const afterSleep = await context.run("clock-after", async () => Date.now());
      const [left, right] = await Promise.all([
        context.run("left", async () => (count("left"), "L")),
        context.run("right", async () => (count("right"), "R")),
      ]);
      const call = await context.call("third-party", {
        url: thirdPartyUrl,
        method: "POST",
        body: JSON.stringify({ order: 7 }),
        headers: { "content-type": "application/json" },
      });
      await context.run("done", async () => {
        count("done");
        finished?.({ first, left, right, slept: afterSleep - beforeSleep, call });
      });
    });
    const { workflowRunId } = await client.trigger({ url: `${app.url}/wf/steps`, body: { name: "herald" } });
    const outcome = await Promise.race([
      result,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("the run did not finish")), 30_000)),
    ]);
    expect(outcome).toMatchObject({ first: "hello herald", left: "L", right: "R" });
    expect(outcome.slept as number).toBeGreaterThanOrEqual(2_000);
    expect(outcome.call).toMatchObject({ status: 201, body: { got: { order: 7 } } });
    expect(ran).toEqual({ first: 1, left: 1, right: 1, done: 1 });
    // The third party got the call as sent, and nothing of the workflow's own headers.
    expect(thirdPartyCalls).toHaveLength(1);
    expect(
      Object.keys(thirdPartyCalls[0]?.headers ?? {}).filter((name) => name.startsWith("upstash-workflow")),
    ).toEqual([]);
    // The run ends when the SDK says so: its step log is gone for lazy fetch (404), and every delivery to
    // the app passed the Receiver (a bad signature is a 4xx/5xx answer).
    await eventually(async () =>
      (await herald.api(`/v2/workflows/runs/${workflowRunId}`)).status === 404 ? true : undefined,
    );
    const calls = app.received.filter((call) => call.path === "/wf/steps");
    expect(calls.length).toBeGreaterThanOrEqual(8);
    expect(calls.filter((call) => call.status !== 200)).toEqual([]);
    expect(new Set(calls.map((call) => call.headers["upstash-workflow-runid"]))).toEqual(new Set([workflowRunId]));
  }, 60_000);

  it("gives later steps the trigger's retries and retry delay, then calls the failure function", async () => {
    let attempts = 0;
    let failure: Record<string, unknown> | undefined;
    app.route<{ order: number }>(
      "/wf/fails",
      async (context) => {
        await context.run("fine", async () => "ok");
        await context.run("breaks", async () => {
          attempts++;
          throw new Error("the warehouse is closed");
        });
      },
      {
        failureFunction: async ({ context, failStatus, failResponse }) => {
          failure = {
            runId: context.workflowRunId,
            payload: context.requestPayload,
            failStatus,
            failResponse,
          };
        },
      },
    );
    const { workflowRunId } = await client.trigger({
      url: `${app.url}/wf/fails`,
      body: { order: 42 },
      retries: 1,
      retryDelay: "500",
    });
    const seen = await eventually(() => failure, 30_000);
    expect(seen).toMatchObject({ runId: workflowRunId, payload: { order: 42 }, failStatus: 500 });
    expect(String(seen.failResponse)).toContain("the warehouse is closed");
    // The failing step was published without retry settings: it got the trigger's one retry.
    expect(attempts).toBe(2);
    // The run is over: publishing to it answers 400 (the SDK reads it as "already finished").
    const late = await herald.api(`/v2/publish/${app.url}/wf/fails`, {
      method: "POST",
      headers: { "Upstash-Workflow-RunId": workflowRunId, "Upstash-Workflow-Init": "false" },
      body: "[]",
    });
    expect(late.status).toBe(400);
    expect(((await late.json()) as { error: string }).error).toContain("already finished");
  }, 60_000);

  it("cancels a run while it sleeps: the step after the sleep never runs", async () => {
    let afterSleep = 0;
    let slept = false;
    app.route("/wf/cancelled", async (context) => {
      await context.run("before", async () => {
        slept = true;
      });
      await context.sleep("long-nap", 600);
      await context.run("after", async () => {
        afterSleep++;
      });
    });
    const { workflowRunId } = await client.trigger({ url: `${app.url}/wf/cancelled`, body: {} });
    await eventually(() => (slept ? true : undefined), 20_000);
    // The sleep is a delayed step message once the step before it is accepted.
    const sleeping = await eventually(async () => {
      const steps = (await (await herald.api(`/v2/workflows/runs/${workflowRunId}`)).json()) as {
        messageId: string;
      }[];
      return steps.length >= 3 ? steps : undefined;
    }, 20_000);
    expect(sleeping.length).toBeGreaterThanOrEqual(3);
    await client.cancel({ ids: workflowRunId });
    expect((await herald.api(`/v2/workflows/runs/${workflowRunId}`)).status).toBe(404);
    // The sleeping step (the last in the log; its CREATED event may not be logged yet where events are
    // written in batches) was cancelled, so nothing can deliver it later.
    const sleepStep = sleeping.at(-1) as { messageId: string };
    const events = await eventually(async () => {
      const res = await herald.api(`/v2/events?messageIds=${sleepStep.messageId}`);
      const list = ((await res.json()) as { events: LoggedEvent[] }).events;
      return list.some((event) => event.state === "CANCEL_REQUESTED") ? list : undefined;
    });
    expect(events.map((event) => event.state)).toContain("CANCEL_REQUESTED");
    expect(afterSleep).toBe(0);
  }, 60_000);

  it("waits for an event: notify resumes it with the data, a timeout resumes it without", async () => {
    const outcomes: Record<string, unknown> = {};
    app.route<{ key: string }>("/wf/waits", async (context) => {
      const { key } = context.requestPayload;
      const result = await context.waitForEvent("wait", `evt-${key}-${mode}`, { timeout: key === "late" ? 1 : 60 });
      await context.run("record", async () => {
        outcomes[key] = result;
      });
    });
    const started = Date.now();
    await client.trigger({ url: `${app.url}/wf/waits`, body: { key: "paid" } });
    await client.trigger({ url: `${app.url}/wf/waits`, body: { key: "late" } });
    // The paid run waits (GET /v2/waiters), then a notify resumes it with the event's data.
    const waiters = await eventually(async () => {
      const list = await client.getWaiters({ eventId: `evt-paid-${mode}` });
      return list.length === 1 ? list : undefined;
    }, 20_000);
    expect(waiters[0]?.url).toBe(`${app.url}/wf/waits`);
    const notified = await client.notify({ eventId: `evt-paid-${mode}`, eventData: { amount: 42 } });
    expect(notified).toHaveLength(1);
    expect(notified[0]?.messageId).toMatch(/^msg_/);
    await eventually(() => outcomes.paid, 20_000);
    expect(outcomes.paid).toEqual({ eventData: { amount: 42 }, timeout: false });
    // Nobody notifies the late run: its 1 s timeout resumes it, with timeout: true.
    await eventually(() => outcomes.late, 20_000);
    expect(outcomes.late).toEqual({ eventData: undefined, timeout: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    // A notify that comes after the timeout won finds nobody waiting.
    expect(await client.notify({ eventId: `evt-late-${mode}`, eventData: "too late" })).toEqual([]);
    // The paid run's timeout lost the race: it never resumed the run a second time.
    expect(Object.keys(outcomes).sort()).toEqual(["late", "paid"]);
  }, 60_000);

  it("cancels a run while it waits for an event: its timeout resumes nothing, a notify skips it", async () => {
    const after: Record<string, number> = {};
    app.route<{ key: string; event: string; timeout: number }>("/wf/cancel-wait", async (context) => {
      const { key, event, timeout } = context.requestPayload;
      const result = await context.waitForEvent("wait", event, { timeout });
      await context.run("after", async () => {
        after[key] = (after[key] ?? 0) + 1;
        return result;
      });
    });
    const waiting = (eventId: string, count: number) =>
      eventually(async () => ((await client.getWaiters({ eventId })).length === count ? true : undefined), 20_000);
    const timedOut = `evt-cancel-timeout-${mode}`;
    const a = await client.trigger({
      url: `${app.url}/wf/cancel-wait`,
      body: { key: "a", event: timedOut, timeout: 2 },
    });
    await waiting(timedOut, 1);
    await client.cancel({ ids: a.workflowRunId });
    expect(await client.getWaiters({ eventId: timedOut })).toEqual([]); // its run no longer runs
    // A witness run waiting as long, from later: once its timeout has resumed it, a's came due before.
    await client.trigger({
      url: `${app.url}/wf/cancel-wait`,
      body: { key: "witness", event: `${timedOut}-w`, timeout: 2 },
    });
    await eventually(() => after.witness, 20_000);
    expect(after.a).toBeUndefined();

    // Two runs wait for one event, the cancelled one listed first: the notify resumes the live one.
    const shared = `evt-cancel-shared-${mode}`;
    const body = (key: string) => ({ key, event: shared, timeout: 600 });
    await client.trigger({ url: `${app.url}/wf/cancel-wait`, body: body("x"), workflowRunId: `a-cancelled-${mode}` });
    await client.trigger({ url: `${app.url}/wf/cancel-wait`, body: body("y"), workflowRunId: `b-live-${mode}` });
    await waiting(shared, 2);
    await client.cancel({ ids: `wfr_a-cancelled-${mode}` });
    const notified = await client.notify({ eventId: shared, eventData: "paid" });
    expect(notified).toHaveLength(1);
    await eventually(() => after.y, 20_000);
    expect(after.x).toBeUndefined();
  }, 60_000);

  it("calls the failure function when the step after a wait's timeout fails; the timeout keeps the trigger's headers", async () => {
    let failures = 0;
    const tenants: (string | null)[] = [];
    app.route(
      "/wf/timeout-fails",
      async (context) => {
        tenants.push(context.headers.get("x-tenant"));
        await context.waitForEvent("wait", `evt-timeout-fails-${mode}`, { timeout: 1 });
        await context.run("breaks", async () => {
          throw new Error("boom");
        });
      },
      { failureFunction: async () => void failures++ },
    );
    await client.trigger({
      url: `${app.url}/wf/timeout-fails`,
      body: {},
      retries: 0,
      headers: { "x-tenant": "acme" },
    });
    await eventually(() => (failures > 0 ? true : undefined), 30_000);
    expect(tenants.length).toBeGreaterThanOrEqual(2); // the trigger's delivery and the timeout's
    expect(tenants.every((tenant) => tenant === "acme")).toBe(true);
  }, 60_000);

  it("calls the failure function once when two parallel branches fail", async () => {
    let failures = 0;
    app.route(
      "/wf/both-fail",
      async (context) => {
        await Promise.all([
          context.run("left", async () => {
            throw new Error("left broke");
          }),
          context.run("right", async () => {
            throw new Error("right broke");
          }),
        ]);
      },
      { failureFunction: async () => void failures++ },
    );
    const { workflowRunId } = await client.trigger({ url: `${app.url}/wf/both-fail`, body: {}, retries: 0 });
    // Both branches fail for good (a DLQ entry each); a failure function call of the second would be
    // sent with its entry, before the witness run published after it.
    await eventually(async () => {
      const dlq = await client.dlq.list();
      return dlq.messages.filter((m) => m.workflowRunId === workflowRunId).length === 2 ? true : undefined;
    }, 30_000);
    let witnessed = false;
    app.route("/wf/both-fail-witness", async (context) => {
      await context.run("w", async () => void (witnessed = true));
    });
    await client.trigger({ url: `${app.url}/wf/both-fail-witness`, body: {} });
    await eventually(() => (witnessed && failures > 0 ? true : undefined), 30_000);
    expect(failures).toBe(1);
  }, 60_000);

  it("gets an event notified before it waits (lookback with the run id)", async () => {
    let release: (() => void) | undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let received: unknown;
    let inStep = false;
    app.route("/wf/lookback", async (context) => {
      await context.run("before-wait", async () => {
        inStep = true;
        await gate; // the test notifies while the run has not waited yet
      });
      const result = await context.waitForEvent("wait", `evt-lookback-${mode}`, { timeout: 60 });
      await context.run("record", async () => {
        received = result;
      });
    });
    const { workflowRunId } = await client.trigger({ url: `${app.url}/wf/lookback`, body: {} });
    await eventually(() => (inStep ? true : undefined), 20_000);
    expect(await client.notify({ eventId: `evt-lookback-${mode}`, eventData: "early", workflowRunId })).toEqual([]);
    release?.();
    await eventually(() => received, 20_000);
    expect(received).toEqual({ eventData: "early", timeout: false });
  }, 60_000);

  it("invokes one workflow from another: the parent's step gets the child's result", async () => {
    let invoked: unknown;
    const child = {
      routeFunction: async (context: WorkflowContext<{ n: number }>) => {
        const doubled = await context.run("double", async () => context.requestPayload.n * 2);
        return { doubled };
      },
      options: {},
      workflowId: "child",
    };
    app.route("/wf/invoke/child", child.routeFunction);
    app.route("/wf/invoke/parent", async (context) => {
      const result = await context.invoke("call-child", { workflow: child, body: { n: 21 } });
      await context.run("record", async () => {
        invoked = result;
      });
    });
    const { workflowRunId: parentRun } = await client.trigger({ url: `${app.url}/wf/invoke/parent`, body: {} });
    await eventually(() => invoked, 20_000);
    expect(invoked).toEqual({ body: { doubled: 42 }, isFailed: false, isCanceled: false });
    // The child ran with the payload the parent gave it, not the invoke envelope.
    const childTrigger = app.received.find(
      (call) => call.path === "/wf/invoke/child" && JSON.parse(call.body).length === 1,
    );
    const [initial] = JSON.parse(childTrigger?.body ?? "[]") as { body: string }[];
    expect(JSON.parse(Buffer.from(initial?.body ?? "", "base64").toString())).toEqual({ n: 21 });
    // The child's run log names the run that invoked it.
    const childRunId = childTrigger?.headers["upstash-workflow-runid"] ?? "";
    const { runs } = await client.logs({ workflowRunId: childRunId });
    const parentCreatedAt = (await client.logs({ workflowRunId: parentRun })).runs[0]?.workflowRunCreatedAt;
    expect(runs[0]?.invoker).toEqual({
      workflowRunId: parentRun,
      workflowUrl: `${app.url}/wf/invoke/parent`,
      workflowRunCreatedAt: parentCreatedAt,
    });
  }, 60_000);

  it("deduplicates a second trigger of the same run id", async () => {
    let runs = 0;
    app.route("/wf/once", async (context) => {
      await context.run("only", async () => {
        runs++;
      });
    });
    const first = await client.trigger({ url: `${app.url}/wf/once`, body: { n: 1 }, workflowRunId: `dup-${mode}` });
    const second = await client.trigger({ url: `${app.url}/wf/once`, body: { n: 2 }, workflowRunId: `dup-${mode}` });
    const { workflowRunId } = first;
    expect(second.workflowRunId).toBe(workflowRunId);
    await eventually(
      async () => ((await herald.api(`/v2/workflows/runs/${workflowRunId}`)).status === 404 ? true : undefined),
      20_000,
    );
    expect(runs).toBe(1);
    // The app got the trigger once: the only delivery whose step log holds just the initial payload.
    // (The trigger's delivery is recorded when its handler returns, which may be after the run ended.)
    const triggers = await eventually(() => {
      const calls = app.received.filter((call) => call.path === "/wf/once" && JSON.parse(call.body).length === 1);
      return calls.length > 0 ? calls : undefined;
    });
    expect(triggers).toHaveLength(1);
  }, 60_000);
});
