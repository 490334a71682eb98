// Webhooks of workflow runs (`context.createWebhook` / `context.waitForWebhook`, docs/workflows.md). The SDK
// makes the hook's URL itself: `<server>/v2/workflows/hooks/<userId>/<runId>/<eventId>`, with the user id
// it decodes from its token and a random event id; the run then waits for that event. A call to the URL
// notifies the event with the request (the SDK rebuilds it from `{proto, host, url, method, header, body}`),
// for that run only, so a call that comes before the wait is kept for it (lookback).
import type { HeraldContext } from "./context.ts";
import { notFound } from "./errors.ts";
import type { IncomingHeaders } from "./headers.ts";
import { toBase64 } from "./views.ts";
import { getRun } from "./workflow.ts";
import { notify } from "./workflow-events.ts";

export const HOOK_PATH = "/v2/workflows/hooks/";

export interface HookCall {
  /** The path after HOOK_PATH: `<userId>/<runId>/<eventId>`, not decoded. */
  rest: string;
  method: string;
  /** The request's path and query, as the caller sent them. */
  url: string;
  headers: IncomingHeaders;
  body: Uint8Array;
}

/**
 * The user id the Workflow SDK reads from an Upstash token: the token is base64 of `{"UserID": …}`. A
 * Herald whose token has another shape has no user id; the SDK's createWebhook fails before it gets here.
 */
export function userIdOfToken(token: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token, "base64").toString("utf8")) as { UserID?: unknown };
    return typeof payload.UserID === "string" && payload.UserID !== "" ? payload.UserID : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A call to a run's webhook. Anyone with the URL may call it (a third party does; the run id and the
 * random event id are the secret, as on QStash). 404 unless the user id is the deployment token's and the
 * run is going.
 */
export async function callHook(ctx: HeraldContext, call: HookCall): Promise<{ notified: number }> {
  let parts: string[];
  try {
    parts = call.rest.split("/").map((part) => decodeURIComponent(part));
  } catch {
    throw notFound("not found");
  }
  if (parts.length !== 3 || parts.some((part) => part === "" || part.length > 256)) throw notFound("not found");
  const [userId, runId, eventId] = parts as [string, string, string];
  const tokens = await ctx.keys.apiTokens();
  if (!tokens.some((token) => token.access === "write" && userIdOfToken(token.value) === userId)) {
    throw notFound("not found");
  }
  const run = await getRun(ctx, runId);
  if (run?.value.state !== "RUN_STARTED") throw notFound(`workflow run ${runId} not found or ended`);
  const headers = call.headers;
  const data = JSON.stringify({
    proto: headers["x-forwarded-proto"]?.split(",")[0]?.trim() || "https",
    host: headers["x-forwarded-host"] ?? headers["host"] ?? "",
    url: call.url,
    method: call.method.toUpperCase(),
    header: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    body: toBase64(call.body),
  });
  return { notified: (await notify(ctx, eventId, data, runId, { webhook: true })).length };
}
