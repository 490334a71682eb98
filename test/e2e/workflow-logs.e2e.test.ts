// Workflow run logs and the workflow DLQ, read by the official Workflow Client (`client.logs()`,
// `client.dlq.list()`) from runs the official SDK's serve drove on Herald.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Client as QStashClient } from "@upstash/qstash";
import type { Client as WorkflowClient, WorkflowRunLog } from "@upstash/workflow";
import { describeEachMode, eventually, startHerald, type TestHerald } from "../support/herald.ts";
import { startWorkflowApp, workflowClients, type WorkflowApp } from "../support/workflow-app.ts";

describeEachMode("Upstash Workflow logs and DLQ", (mode) => {
  let herald: TestHerald;
  let app: WorkflowApp;
  let client: WorkflowClient;
  let qstash: QStashClient;

  beforeAll(async () => {
    herald = await startHerald({ mode });
    app = await startWorkflowApp(herald);
    ({ workflow: client, qstash } = await workflowClients(herald));
    app.route<{ name: string }>("/wf/ok", async (context) => {
      const greeting = await context.run("greet", async () => `hello ${context.requestPayload.name}`);
      const length = await context.run("measure", async () => greeting.length);
      return { greeting, length };
    });
    app.route("/wf/bad", async (context) => {
      await context.run("fine", async () => "ok");
      await context.run("breaks", async () => {
        throw new Error("the warehouse is closed");
      });
    });
    app.route("/wf/page", async (context) => {
      await context.run("only", async () => 1);
    });
  });
  afterAll(async () => {
    await app?.close();
    await herald?.close();
  });

  /**
   * The run's log once it is in `state` and its messages' events are logged (a run fails before the failed
   * delivery's FAILED event is written: until then its DLQ id is not known).
   */
  async function runInState(workflowRunId: string, state: WorkflowRunLog["workflowState"]): Promise<WorkflowRunLog> {
    return eventually(async () => {
      const { runs } = await client.logs({ workflowRunId });
      const run = runs[0];
      if (run?.workflowState !== state) return undefined;
      return state !== "RUN_FAILED" || run.dlqId !== undefined ? run : undefined;
    }, 30_000);
  }

  it("shows a run that succeeded: its steps, result and times", async () => {
    const { workflowRunId } = await client.trigger({ url: `${app.url}/wf/ok`, body: { name: "herald" } });
    const run = await runInState(workflowRunId, "RUN_SUCCESS");
    expect(run).toMatchObject({ workflowRunId, workflowUrl: `${app.url}/wf/ok`, workflowState: "RUN_SUCCESS" });
    expect(JSON.parse(run.workflowRunResponse as string)).toEqual({ greeting: "hello herald", length: 12 });
    expect(run.workflowRunCompletedAt).toBeGreaterThanOrEqual(run.workflowRunCreatedAt);
    expect(run.steps.map((group) => group.type)).toEqual(["sequential", "sequential", "sequential"]);
    const steps = run.steps.flatMap((group): unknown[] => group.steps) as Record<string, unknown>[];
    expect(steps).toMatchObject([
      { stepId: 0, stepName: "init", stepType: "Initial", callType: "step", state: "STEP_SUCCESS" },
      { stepId: 1, stepName: "greet", stepType: "Run", out: '"hello herald"', state: "STEP_SUCCESS", concurrent: 1 },
      { stepId: 2, stepName: "measure", stepType: "Run", out: "12", state: "STEP_SUCCESS" },
    ]);
    expect(JSON.parse(steps[0]?.out as string)).toEqual({ name: "herald" });
    for (const step of steps) expect(step.messageId).toMatch(/\S/);
  }, 60_000);

  it("shows a run that failed: the failed next step with its error; filters by state; lists its DLQ entry", async () => {
    const { workflowRunId } = await client.trigger({ url: `${app.url}/wf/bad`, body: { n: 1 }, retries: 0 });
    const run = await runInState(workflowRunId, "RUN_FAILED");
    expect(run.workflowRunResponse).toBeUndefined();
    expect(run.steps.map((group) => group.type)).toEqual(["sequential", "sequential", "next"]);
    expect(run.steps[1]?.steps[0]).toMatchObject({ stepName: "fine", out: '"ok"', state: "STEP_SUCCESS" });
    const next = run.steps[2]?.steps[0] as { state: string; errors?: { status: number; body: string }[] };
    expect(next.state).toBe("STEP_FAILED");
    expect(next.errors?.[0]?.status).toBe(500);
    expect(next.errors?.[0]?.body).toContain("the warehouse is closed");
    expect(run.dlqId).toMatch(/\S/);

    // Filters by state (and URL): only failed runs of this workflow.
    const failed = await client.logs({ filter: { state: "RUN_FAILED", workflowUrl: `${app.url}/wf/bad` } });
    expect(failed.runs.map((r) => r.workflowRunId)).toEqual([workflowRunId]);
    const succeeded = await client.logs({ filter: { state: "RUN_SUCCESS", workflowUrl: `${app.url}/wf/bad` } });
    expect(succeeded.runs).toEqual([]);

    // A plain message that failed is in the DLQ too, but not in the workflow DLQ.
    const plain = await qstash.publish({ url: `${app.url}/not-a-workflow`, body: "x", retries: 0 });
    const plainEntry = await eventually(async () => {
      const res = await herald.api(`/v2/dlq?url=${encodeURIComponent(`${app.url}/not-a-workflow`)}`);
      const { messages } = (await res.json()) as { messages: { messageId: string; dlqId: string }[] };
      return messages.find((m) => m.messageId === plain.messageId);
    }, 20_000);
    const listed = await eventually(async () => {
      const { messages } = await client.dlq.list();
      return messages.some((m) => m.workflowRunId === workflowRunId) ? messages : undefined;
    }, 20_000);
    expect(listed.map((m) => m.dlqId)).not.toContain(plainEntry.dlqId);
    for (const m of listed) expect(m.workflowRunId).toMatch(/\S/);
    const entry = listed.find((m) => m.workflowRunId === workflowRunId);
    expect(entry).toMatchObject({
      dlqId: run.dlqId,
      workflowUrl: `${app.url}/wf/bad`,
      workflowCreatedAt: run.workflowRunCreatedAt,
      responseStatus: 500,
    });
    const byRun = await client.dlq.list({ filter: { workflowRunId } });
    expect(byRun.messages.map((m) => m.dlqId)).toEqual([run.dlqId]);
    const byUrl = await client.dlq.list({ filter: { workflowUrl: `${app.url}/wf/ok` } });
    expect(byUrl.messages).toEqual([]);
  }, 60_000);

  it("pages runs newest first with a cursor", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await client.trigger({ url: `${app.url}/wf/page`, body: { i } })).workflowRunId);
    }
    for (const id of ids) await runInState(id, "RUN_SUCCESS");
    const filter = { workflowUrl: `${app.url}/wf/page` };
    const first = await client.logs({ filter, count: 2 });
    expect(first.runs).toHaveLength(2);
    expect(first.cursor).toMatch(/\S/);
    const second = await client.logs({ filter, count: 2, cursor: first.cursor });
    expect(second.runs).toHaveLength(1);
    expect(second.cursor).toBeUndefined();
    const listed = [...first.runs, ...second.runs];
    const created = listed.map((r) => r.workflowRunCreatedAt);
    expect(created).toEqual([...created].sort((a, b) => b - a));
    expect(new Set(listed.map((r) => r.workflowRunId))).toEqual(new Set(ids));
    // The same under /v2/workflows/logs; a bad cursor is a 400.
    const res = await herald.api(`/v2/workflows/logs?workflowUrl=${encodeURIComponent(filter.workflowUrl)}`);
    expect(((await res.json()) as { runs: unknown[] }).runs).toHaveLength(3);
    expect((await herald.api(`/v2/workflows/events?cursor=%%%`)).status).toBe(400);
  }, 60_000);
});
