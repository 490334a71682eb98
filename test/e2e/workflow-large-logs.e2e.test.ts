// Workflow runs whose step log outgrows a delivery, and bulk cancel of runs by filter, with the official SDK.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Client as WorkflowClient } from "@upstash/workflow";
import { describeEachMode, eventually, startHerald, type TestHerald } from "../support/herald.ts";
import { startWorkflowApp, workflowClients, type WorkflowApp } from "../support/workflow-app.ts";

// A small message body limit: a log of a few 3 KB steps no longer fits in a delivery.
const MAX_BODY_BYTES = 8_192;

describeEachMode("Upstash Workflow: large logs and bulk cancel", (mode) => {
  let herald: TestHerald;
  let app: WorkflowApp;
  let client: WorkflowClient;

  beforeAll(async () => {
    herald = await startHerald({ mode, env: { HERALD_MAX_BODY_BYTES: String(MAX_BODY_BYTES) } });
    app = await startWorkflowApp(herald);
    client = (await workflowClients(herald)).workflow;
  });
  afterAll(async () => {
    await app?.close();
    await herald?.close();
  });

  it("sends a log larger than the body limit empty: the SDK fetches it, and the run goes on", async () => {
    const ran: string[] = [];
    let total: number | undefined;
    app.route("/wf/large", async (context) => {
      const parts: string[] = [];
      for (const name of ["a", "b", "c", "d"]) {
        parts.push(
          await context.run(name, async () => {
            ran.push(name);
            return name.repeat(3_000);
          }),
        );
      }
      await context.run("sum", async () => {
        total = parts.join("").length;
      });
    });
    const { workflowRunId } = await client.trigger({ url: `${app.url}/wf/large`, body: { go: true } });
    await eventually(() => total, 30_000);
    expect(total).toBe(12_000);
    expect(ran).toEqual(["a", "b", "c", "d"]);
    const deliveries = app.received.filter((call) => call.path === "/wf/large");
    // Early deliveries carried the log; once it outgrew the limit they came empty and the SDK fetched it.
    expect(deliveries.some((call) => call.body.length > 0)).toBe(true);
    const empty = deliveries.filter((call) => call.body === "");
    expect(empty.length).toBeGreaterThan(0);
    expect(empty.every((call) => call.headers["upstash-workflow-runid"] === workflowRunId)).toBe(true);
    expect(deliveries.every((call) => call.body.length <= MAX_BODY_BYTES)).toBe(true);
    expect(deliveries.filter((call) => call.status !== 200)).toEqual([]);
  }, 60_000);

  it("cancels runs by URL prefix and label, at most `count` a call, oldest first", async () => {
    app.route("/wf/sleepy/a", async (context) => void (await context.sleep("nap", 600)));
    app.route("/wf/sleepy/b", async (context) => void (await context.sleep("nap", 600)));
    const runs = [
      await client.trigger({ url: `${app.url}/wf/sleepy/a`, label: "batch-1" }),
      await client.trigger({ url: `${app.url}/wf/sleepy/a`, label: "batch-1" }),
      await client.trigger({ url: `${app.url}/wf/sleepy/b`, label: "batch-2" }),
    ].map((run) => run.workflowRunId);
    const running = async (runId: string): Promise<boolean> =>
      (await herald.api(`/v2/workflows/runs/${runId}`)).status === 200;
    // Each run is sleeping (its sleep step accepted) before it is cancelled.
    for (const runId of runs) {
      await eventually(async () => {
        const res = await herald.api(`/v2/workflows/runs/${runId}`);
        return res.status === 200 && ((await res.json()) as unknown[]).length >= 2 ? true : undefined;
      }, 20_000);
    }
    expect(await client.cancel({ filter: { workflowUrlStartingWith: `${app.url}/wf/sleepy/` }, count: 1 })).toEqual({
      cancelled: 1,
    });
    expect([await running(runs[0] as string), await running(runs[1] as string)]).toEqual([false, true]);
    expect(await client.cancel({ filter: { label: "batch-1" } })).toEqual({ cancelled: 1 });
    expect(await running(runs[1] as string)).toBe(false);
    expect(await running(runs[2] as string)).toBe(true);
    expect(await client.cancel({ filter: { workflowUrl: `${app.url}/wf/sleepy` } })).toEqual({ cancelled: 0 });
    // The client's other filters: a host or path no run has cancels none; the run's path cancels it.
    expect(await client.cancel({ filter: { host: "no-such-host.example" } })).toEqual({ cancelled: 0 });
    expect(await client.cancel({ filter: { path: "/wf/sleepy/a" } })).toEqual({ cancelled: 0 });
    expect(await client.cancel({ filter: { flowControlKey: "no-such-key" } })).toEqual({ cancelled: 0 });
    // Strict, as a bulk cancel is destructive: no value, an unknown key or callerIp is a 400, not "every run".
    for (const query of ["workflowRunIds=", "workflowRunId=x", "workflowUrl=", "callerIp=1.2.3.4"]) {
      const res = await herald.api(`/v2/workflows/runs?${query}`, { method: "DELETE" });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: expect.any(String) });
    }
    expect(await running(runs[2] as string)).toBe(true);
    expect(await client.cancel({ filter: { path: "/wf/sleepy/b" } })).toEqual({ cancelled: 1 });
    expect(await running(runs[2] as string)).toBe(false);
  }, 60_000);
});
