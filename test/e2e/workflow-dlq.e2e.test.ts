// The workflow DLQ as the Workflow Client uses it: a run whose step ran out of retries is listed
// (`dlq.list`), resumed from its failed step (`dlq.resume`: steps done before are not run again), restarted
// from the start (`dlq.restart`, with the request's retries over the run's), its failure function called
// again (`dlq.retryFailureFunction`), and deleted (`dlq.delete`). The app is the official SDK.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Client as WorkflowClient } from "@upstash/workflow";
import { describeEachMode, eventually, startHerald, type TestHerald } from "../support/herald.ts";
import { startWorkflowApp, workflowClients, type WorkflowApp } from "../support/workflow-app.ts";

describeEachMode("the workflow DLQ", (mode) => {
  let herald: TestHerald;
  let app: WorkflowApp;
  let client: WorkflowClient;

  beforeAll(async () => {
    herald = await startHerald({ mode });
    app = await startWorkflowApp(herald);
    client = (await workflowClients(herald)).workflow;
  });
  afterAll(async () => {
    await app?.close();
    await herald?.close();
  });

  /** A workflow of three steps whose second fails `failuresLeft` more times; counts what ran. */
  function flakyWorkflow(path: string) {
    const state = {
      failuresLeft: 1,
      ran: { first: 0, second: 0, third: 0 },
      finished: new Map<string, { payload: unknown; first: string; second: string }>(),
      failures: [] as { runId: string; payload: unknown; failStatus: number }[],
    };
    app.route<{ order: number }>(
      path,
      async (context) => {
        const first = await context.run("first", async () => {
          state.ran.first++;
          return `first of ${context.workflowRunId}`;
        });
        const second = await context.run("second", async () => {
          state.ran.second++;
          if (state.failuresLeft > 0) {
            state.failuresLeft--;
            throw new Error("the second step is broken");
          }
          return "second done";
        });
        await context.run("third", async () => {
          state.ran.third++;
          state.finished.set(context.workflowRunId, { payload: context.requestPayload, first, second });
        });
      },
      {
        failureFunction: async ({ context, failStatus }) => {
          state.failures.push({ runId: context.workflowRunId, payload: context.requestPayload, failStatus });
        },
      },
    );
    return state;
  }

  async function dlqEntryOf(runId: string) {
    return eventually(async () => {
      const { messages } = await client.dlq.list({ filter: { workflowRunId: runId } });
      return messages[0];
    }, 30_000);
  }

  it("resumes a failed run from its failed step: the steps done before are not run again", async () => {
    const flaky = flakyWorkflow("/wf/resume");
    const { workflowRunId: failedRun } = await client.trigger({
      url: `${app.url}/wf/resume`,
      body: { order: 1 },
      retries: 0,
    });
    const entry = await dlqEntryOf(failedRun);
    expect(entry).toMatchObject({ workflowRunId: failedRun, workflowUrl: `${app.url}/wf/resume` });
    await eventually(() => (flaky.failures.length === 1 ? true : undefined), 30_000);
    expect(flaky.ran).toEqual({ first: 1, second: 1, third: 0 });

    const resumed = await client.dlq.resume(entry.dlqId);
    const [run] = resumed.workflowRuns;
    expect(run?.workflowRunId).toMatch(/^wfr_/);
    expect(run?.workflowRunId).not.toBe(failedRun);
    const done = await eventually(() => flaky.finished.get(run?.workflowRunId ?? ""), 30_000);
    // The first step's result came from the failed run's log; only the failed step and the rest ran.
    expect(done).toEqual({ payload: { order: 1 }, first: `first of ${failedRun}`, second: "second done" });
    expect(flaky.ran).toEqual({ first: 1, second: 2, third: 1 });
    // The entry is gone; the failed run stays failed, the new one succeeded.
    expect((await client.dlq.list({ filter: { workflowRunId: failedRun } })).messages).toEqual([]);
    const states = await eventually(async () => {
      const { runs } = await client.logs({});
      const byId = new Map(runs.map((r) => [r.workflowRunId, r.workflowState]));
      return byId.get(run?.workflowRunId ?? "") === "RUN_SUCCESS" ? byId : undefined;
    }, 30_000);
    expect(states.get(failedRun)).toBe("RUN_FAILED");
    expect(flaky.failures).toHaveLength(1);
  }, 90_000);

  it("starts one run when the same entry is resumed twice at once", async () => {
    const flaky = flakyWorkflow("/wf/resume-twice");
    const { workflowRunId: failedRun } = await client.trigger({
      url: `${app.url}/wf/resume-twice`,
      body: { order: 4 },
      retries: 0,
    });
    const entry = await dlqEntryOf(failedRun);
    const answers = await Promise.all(
      [0, 1].map(async () => {
        const res = await herald.api(`/v2/workflows/dlq/resume/${entry.dlqId}`, { method: "POST" });
        return { status: res.status, body: (await res.json()) as { workflowRunId?: string; error?: string } };
      }),
    );
    const won = answers.filter((a) => a.status === 200);
    expect(won).toHaveLength(1);
    // The other was told the entry is taken (409) or gone (404, when the first had finished already).
    const lost = answers.find((a) => a.status !== 200);
    expect([404, 409]).toContain(lost?.status);
    expect(lost?.body.error).toEqual(expect.any(String));
    const newRun = won[0]?.body.workflowRunId ?? "";
    await eventually(() => flaky.finished.get(newRun), 30_000);
    expect(flaky.finished.size).toBe(1);
    expect(flaky.ran).toEqual({ first: 1, second: 2, third: 1 });
  }, 90_000);

  it("restarts a failed run from the start with the request's retries, selected by filter", async () => {
    const flaky = flakyWorkflow("/wf/restart");
    const { workflowRunId: failedRun } = await client.trigger({
      url: `${app.url}/wf/restart`,
      body: { order: 2 },
      retries: 0,
      retryDelay: "500",
    });
    await dlqEntryOf(failedRun);
    // The restarted run's "second" fails once more; the one retry the restart request gives (over the
    // run's 0) runs it again.
    flaky.failuresLeft = 1;
    const restarted = await client.dlq.restart({ filter: { workflowRunId: failedRun } }, { retries: 1 });
    expect(restarted.workflowRuns).toHaveLength(1);
    const newRun = restarted.workflowRuns[0]?.workflowRunId ?? "";
    await eventually(() => flaky.finished.get(newRun), 30_000);
    expect(flaky.finished.get(newRun)).toEqual({
      payload: { order: 2 },
      first: `first of ${newRun}`,
      second: "second done",
    });
    // The first step ran again (a restart keeps nothing), and "second" needed the retry the request gave.
    expect(flaky.ran).toEqual({ first: 2, second: 3, third: 1 });
    expect(flaky.failures.map((f) => f.runId)).toEqual([failedRun]);
  }, 90_000);

  it("calls the failure function again, and deletes an entry", async () => {
    const flaky = flakyWorkflow("/wf/failure-again");
    const { workflowRunId: failedRun } = await client.trigger({
      url: `${app.url}/wf/failure-again`,
      body: { order: 3 },
      retries: 0,
    });
    const entry = await dlqEntryOf(failedRun);
    await eventually(() => (flaky.failures.length === 1 ? true : undefined), 30_000);
    // The run log shows the failure function's call, and what the failed step got.
    const failureFunction = await eventually(async () => {
      const [run] = (await client.logs({ workflowRunId: failedRun })).runs;
      return run?.failureFunction?.state === "CALLBACK_SUCCESS" ? run.failureFunction : undefined;
    }, 30_000);
    expect(failureFunction).toMatchObject({
      url: `${app.url}/wf/failure-again`,
      failStatus: 500,
      failResponse: expect.stringContaining("the second step is broken"),
      dlqId: entry.dlqId,
      responseStatus: 200,
    });
    // The DLQ entry says how the failure function's call went, and filters by it.
    const listed = await client.dlq.list({ filter: { workflowRunId: failedRun } });
    expect(listed.messages[0]?.failureCallbackInfo).toMatchObject({ state: "CALLBACK_SUCCESS", responseStatus: 200 });
    const bySuccess = await client.dlq.list({
      filter: { workflowRunId: failedRun, failureFunctionState: "CALLBACK_SUCCESS" },
    });
    expect(bySuccess.messages.map((m) => m.dlqId)).toEqual([entry.dlqId]);
    const byFail = await client.dlq.list({
      filter: { workflowRunId: failedRun, failureFunctionState: "CALLBACK_FAIL" },
    });
    expect(byFail.messages).toEqual([]);
    const again = await client.dlq.retryFailureFunction({ dlqId: entry.dlqId });
    expect(again).toMatchObject({ workflowRunId: failedRun });
    await eventually(() => (flaky.failures.length === 2 ? true : undefined), 30_000);
    expect(flaky.failures[1]).toEqual({ runId: failedRun, payload: { order: 3 }, failStatus: 500 });

    expect(await client.dlq.delete(entry.dlqId)).toMatchObject({ deleted: 1 });
    expect((await client.dlq.list({ filter: { workflowRunId: failedRun } })).messages).toEqual([]);
    const gone = await herald.api(`/v2/workflows/dlq/resume/${entry.dlqId}`, { method: "POST" });
    expect(gone.status).toBe(404);
    expect(await gone.json()).toMatchObject({ error: expect.stringContaining("not found") });
  }, 90_000);

  it("refuses a plain QStash message's DLQ entry with a JSON 400", async () => {
    const published = await herald.api(`/v2/publish/${app.url}/not-a-workflow`, {
      method: "POST",
      headers: { "Upstash-Retries": "0" },
      body: "plain",
    });
    const { messageId } = (await published.json()) as { messageId: string };
    const dlqId = await eventually(async () => {
      const res = await herald.api(`/v2/dlq?messageId=${messageId}`);
      return ((await res.json()) as { messages: { dlqId: string }[] }).messages[0]?.dlqId;
    }, 30_000);
    for (const how of ["resume", "restart", "callback"]) {
      const res = await herald.api(`/v2/workflows/dlq/${how}/${dlqId}`, { method: "POST" });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: `dlq message "${dlqId}" is not a workflow run's` });
    }
    // Nor do the bulk forms touch it when it is named by id.
    const bulkDelete = await herald.api(`/v2/workflows/dlq?dlqIds=${dlqId}`, { method: "DELETE" });
    expect(await bulkDelete.json()).toEqual({ deleted: 0 });
    const bulkResume = await herald.api(`/v2/workflows/dlq/resume?dlqIds=${dlqId}`, { method: "POST" });
    expect(bulkResume.status).toBe(200);
    expect(await bulkResume.json()).toEqual({ workflowRuns: [] });
    expect((await herald.api(`/v2/dlq/${dlqId}`)).status).toBe(200);
    // Nor do the workflow DLQ's lists show it.
    const listed = (await (await herald.api(`/v2/workflows/dlq`)).json()) as { messages: { dlqId: string }[] };
    expect(listed.messages.map((m) => m.dlqId)).not.toContain(dlqId);
    const byId = (await (await herald.api(`/v2/workflows/dlq?dlqIds=${dlqId}`)).json()) as { messages: unknown[] };
    expect(byId.messages).toEqual([]);
  }, 60_000);
});
