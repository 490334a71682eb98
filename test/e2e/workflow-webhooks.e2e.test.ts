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

  it("answers a request too large to resume the run with 413, and the run still takes a later call", async () => {
    const hooks = hookWorkflow("/wf/hook-big", "60s");
    const { workflowRunId } = await client.trigger({ url: `${app.url}/wf/hook-big`, body: {} });
    const hookUrl = await eventually(() => hooks.hookUrls.get(workflowRunId), 30_000);
    // Wait until the run waits, so the call meets its waiter (base64 twice over: 700 KB becomes > 1 MiB).
    const eventId = hookUrl.split("/").at(-1) as string;
    await eventually(async () => {
      const waiters = (await (await herald.api(`/v2/waiters/${eventId}`)).json()) as unknown[];
      return waiters.length > 0 ? true : undefined;
    }, 30_000);
    const big = await fetch(hookUrl, { method: "POST", body: Buffer.alloc(700 * 1024, "a") });
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({ error: expect.stringContaining("too large") });
    const small = await fetch(hookUrl, { method: "POST", body: "small enough" });
    expect(small.status).toBe(200);
    const outcome = await eventually(() => hooks.outcomes.get(workflowRunId), 30_000);
    expect(outcome).toMatchObject({ timeout: false, body: "small enough" });
  }, 60_000);

  it("resumes only the webhook's wait: its URL cannot send the run another event", async () => {
    let approved: unknown;
    app.route("/wf/hook-and-event", async (context) => {
      const webhook = await context.createWebhook("make a hook");
      await context.run("hand it out", async () => webhook.webhookUrl);
      const { eventData, timeout } = await context.waitForEvent("approval", "approval-1", { timeout: "3s" });
      await context.run("record", async () => void (approved = { eventData, timeout }));
    });
    const { workflowRunId } = await client.trigger({ url: `${app.url}/wf/hook-and-event`, body: {} });
    // The hook URL of this run, with the event id of its ordinary wait in place of the hook's.
    const forged = await eventually(async () => {
      const waiters = (await (await herald.api(`/v2/waiters/approval-1`)).json()) as unknown[];
      if (waiters.length === 0) return undefined;
      return `${herald.server.url}/v2/workflows/hooks/${USER_ID}/${workflowRunId}/approval-1`;
    }, 30_000);
    const called = await fetch(forged, { method: "POST", body: "approve it" });
    expect(called.status).toBe(200);
    expect(await called.json()).toEqual({ notified: 0 });
    // The wait ran to its timeout: the forged call did not resume it.
    expect(await eventually(() => approved, 30_000)).toEqual({ eventData: undefined, timeout: true });
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
