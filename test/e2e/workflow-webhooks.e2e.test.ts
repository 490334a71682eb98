// context.createWebhook / waitForWebhook with the official SDK: the SDK builds the hook URL from the user id
// in an Upstash-shaped token, so this Herald runs with one. A third party calls the URL without a token; the
// run gets the request as it was sent. Other users' or ended runs' hook URLs answer 404.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Client as WorkflowClient } from "@upstash/workflow";
import { describeEachMode, eventually, startHerald, type TestHerald } from "../support/herald.ts";
import { startWorkflowApp, workflowClients, type WorkflowApp } from "../support/workflow-app.ts";

const USER_ID = "herald-hooks-user";
const TOKEN = Buffer.from(JSON.stringify({ UserID: USER_ID, Password: "hooks-test-password" })).toString("base64");

interface HookOutcome {
  timeout: boolean;
  method?: string;
  body?: string;
  header?: string | null;
  url?: string;
}

describeEachMode("workflow webhooks", (mode) => {
  let herald: TestHerald;
  let app: WorkflowApp;
  let client: WorkflowClient;

  beforeAll(async () => {
    herald = await startHerald({ mode, env: { HERALD_TOKEN: TOKEN } });
    app = await startWorkflowApp(herald);
    client = (await workflowClients(herald)).workflow;
  });
  afterAll(async () => {
    await app?.close();
    await herald?.close();
  });

  function hookWorkflow(path: string, timeout: `${bigint}s`) {
    const hookUrls = new Map<string, string>();
    const outcomes = new Map<string, HookOutcome>();
    app.route(path, async (context) => {
      const webhook = await context.createWebhook("make a hook");
      await context.run("hand it out", async () => void hookUrls.set(context.workflowRunId, webhook.webhookUrl));
      const { request, timeout: timedOut } = await context.waitForWebhook("wait for the hook", webhook, timeout);
      await context.run("record", async () => {
        outcomes.set(context.workflowRunId, {
          timeout: timedOut,
          ...(request
            ? {
                method: request.method,
                body: await request.text(),
                header: request.headers.get("x-order"),
                url: request.url,
              }
            : {}),
        });
      });
    });
    return { hookUrls, outcomes };
  }

  it("resumes the run with the request a third party sent to its webhook, without a token", async () => {
    const hooks = hookWorkflow("/wf/hook", "60s");
    const { workflowRunId } = await client.trigger({ url: `${app.url}/wf/hook`, body: {} });
    const hookUrl = await eventually(() => hooks.hookUrls.get(workflowRunId), 30_000);
    expect(hookUrl).toMatch(new RegExp(`^${herald.server.url}/v2/workflows/hooks/${USER_ID}/${workflowRunId}/evt_`));
    const called = await fetch(`${hookUrl}?source=shop`, {
      method: "PUT",
      headers: { "content-type": "text/plain", "x-order": "o-77" },
      body: "paid in full",
    });
    expect(called.status).toBe(200);
    expect(await called.json()).toMatchObject({ notified: expect.any(Number) });
    const outcome = await eventually(() => hooks.outcomes.get(workflowRunId), 30_000);
    expect(outcome).toMatchObject({ timeout: false, method: "PUT", body: "paid in full", header: "o-77" });
    expect(new URL(outcome.url ?? "").search).toBe("?source=shop");
    // The run is over: its hook answers 404 now.
    await eventually(async () =>
      (await herald.api(`/v2/workflows/runs/${workflowRunId}`)).status === 404 ? true : undefined,
    );
    const late = await fetch(hookUrl, { method: "POST", body: "again" });
    expect(late.status).toBe(404);
    expect(await late.json()).toMatchObject({ error: expect.any(String) });
  }, 60_000);

  it("times out when nobody calls, and refuses another user's hook URL", async () => {
    const hooks = hookWorkflow("/wf/hook-timeout", "2s");
    const { workflowRunId } = await client.trigger({ url: `${app.url}/wf/hook-timeout`, body: {} });
    const hookUrl = await eventually(() => hooks.hookUrls.get(workflowRunId), 30_000);
    const otherUser = hookUrl.replace(`/hooks/${USER_ID}/`, "/hooks/someone-else/");
    const refused = await fetch(otherUser, { method: "POST", body: "x" });
    expect(refused.status).toBe(404);
    expect(await refused.json()).toEqual({ error: "not found" });
    const outcome = await eventually(() => hooks.outcomes.get(workflowRunId), 30_000);
    expect(outcome).toEqual({ timeout: true });
  }, 60_000);
});
