import { findMessage } from "../core/find-message.ts";
import { cancelMessage, cancelMessages } from "../core/cancel.ts";
import type { HeraldContext } from "../core/context.ts";
import { deleteDlq, deleteDlqBulk, getDlq, listDlq, retryDlq, retryDlqBulk } from "../core/dlq.ts";
import { badRequest, notFound } from "../core/errors.ts";
import { parseJsonBody } from "../core/json-body.ts";
import { assertIds, parseListQuery, WORKFLOW_KEYS, type ListQuery, type QuerySpec } from "../core/filters.ts";
import { listLogs } from "../core/logs.ts";
import {
  deleteWorkflowDlq,
  deleteWorkflowDlqEntry,
  getWorkflowDlq,
  retryFailureFunction,
  reviveMany,
  reviveOne,
  workflowOnly,
} from "../core/workflow-dlq.ts";
import { BATCH_BODIES, publishBatch } from "../core/batch.ts";
import type { HeraldConfig } from "../core/config.ts";
import {
  getFlowControl,
  globalParallelism,
  listFlowControl,
  pauseFlowControl,
  pinFlowControl,
  resetFlowControlRate,
  resumeFlowControl,
  unpinFlowControl,
} from "../core/flow-control.ts";
import { publish, type PublishRequest, type PublishResult } from "../core/publish.ts";
import { deleteQueue, getQueue, listQueues, setQueuePaused, upsertQueue } from "../core/queues.ts";
import { createSchedule, deleteSchedule, getSchedule, listSchedules, setSchedulePaused } from "../core/schedules.ts";
import {
  deleteUrlGroup,
  findUrlGroup,
  listUrlGroups,
  removeEndpoints,
  upsertEndpoints,
  urlGroupView,
} from "../core/url-groups.ts";
import { messageView } from "../core/views.ts";
import { cancelRuns, deleteRun, runSteps } from "../core/workflow.ts";
import { listWaiters, notify, waitForEvent } from "../core/workflow-events.ts";
import { listRunLogs, parseRunLogQuery } from "../core/workflow-logs.ts";
import type { Access } from "../ports.ts";
import { json, type ApiRequest, type ApiResponse } from "./http.ts";

type Handler = (ctx: HeraldContext, request: ApiRequest, param: string) => Promise<ApiResponse>;

/**
 * A route: fixed segments matched case-insensitively (the Go SDK sends `/v2/Schedules`), then either
 * one `:id` segment or, for publish, the raw rest of the path (the destination URL with its slashes).
 */
export interface Route {
  method: string;
  segments: string[];
  param?: "id" | "rest";
  /** Fixed segments after the `:id` segment (`/v2/queues/:id/pause`), lower-case. */
  suffix?: string[];
  /**
   * "read": read-only tokens may call it too. "write": it changes something, or reveals a secret
   * (GET /v2/keys: a signing key lets its holder forge deliveries receivers accept), so it needs the
   * deployment's token; a read-only token gets 403.
   */
  access: Access;
  /** Largest request body, when not the message body limit. */
  maxBodyBytes?: (config: HeraldConfig) => number;
  handler: Handler;
}

const LOGS: QuerySpec = { extra: ["state", "order"], idsKey: "messageIds", strict: false, maxCount: 1000 };
const DLQ: QuerySpec = {
  extra: ["order", "responseStatus", ...WORKFLOW_KEYS],
  idsKey: "dlqIds",
  strict: true,
  maxCount: 1000,
};
// QStash's bulk cancel takes `count` from 1 to 500 (its OpenAPI); without it every match is cancelled.
const CANCEL: QuerySpec = { extra: [], idsKey: "messageIds", strict: true, maxCount: 500, maxIds: 1000 };

/**
 * A publishing route's answer: its results (one per message; an array for a URL group, arrays of those for a
 * batch) and how many of them are new messages rather than duplicates.
 */
function accepted(body: PublishResult | (PublishResult | PublishResult[])[], status = 200): ApiResponse {
  const published = [body].flat(2).filter((result) => !result.deduplicated).length;
  return { ...json(body, status), published };
}

const params = (request: ApiRequest): URLSearchParams => new URLSearchParams(request.rawQuery);
const ok = (): ApiResponse => json({});

const jsonBody = (request: ApiRequest): unknown => parseJsonBody(request.body, "request body must be JSON");

function publishRequest(request: ApiRequest, destination: string, queueName?: string): PublishRequest {
  return {
    destination,
    rawQuery: request.rawQuery,
    headers: request.headers,
    body: request.body,
    ...(request.sourceIp ? { callerIp: request.sourceIp } : {}),
    ...(queueName !== undefined ? { queueName } : {}),
  };
}

/** List, get and delete of a named resource (URL groups, queues, schedules). */
function resourceRoutes(
  segments: string[],
  ops: {
    list: (ctx: HeraldContext) => Promise<unknown>;
    get: (ctx: HeraldContext, id: string) => Promise<unknown>;
    remove: (ctx: HeraldContext, id: string) => Promise<void>;
  },
): Route[] {
  return [
    { method: "GET", segments, access: "read", handler: async (ctx) => json(await ops.list(ctx)) },
    {
      method: "GET",
      segments,
      param: "id",
      access: "read",
      handler: async (ctx, _request, id) => json(await ops.get(ctx, id)),
    },
    {
      method: "DELETE",
      segments,
      param: "id",
      access: "write",
      handler: async (ctx, _request, id) => {
        await ops.remove(ctx, id);
        return ok();
      },
    },
  ];
}

/** Pause and resume, under POST and (for schedules, as the SDKs send it) PATCH. */
function pauseRoutes(
  segments: string[],
  methods: string[],
  set: (ctx: HeraldContext, id: string, paused: boolean) => Promise<void>,
): Route[] {
  return methods.flatMap((method) =>
    (["pause", "resume"] as const).map((action) => ({
      method,
      segments,
      param: "id" as const,
      suffix: [action],
      access: "write" as const,
      handler: async (ctx: HeraldContext, _request: ApiRequest, id: string) => {
        await set(ctx, id, action === "pause");
        return ok();
      },
    })),
  );
}

/** PY's legacy bulk cancel sends `{"messageIds": [...]}` as a JSON body instead of the query. */
function cancelQuery(request: ApiRequest): ListQuery {
  const query = parseListQuery(params(request), CANCEL);
  if (query.ids || request.body.byteLength === 0) return query;
  const ids = (jsonBody(request) as { messageIds?: unknown } | null)?.messageIds;
  if (ids !== undefined) {
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === "string")) {
      throw badRequest("messageIds must be an array of strings");
    }
    query.ids = assertIds("messageIds", ids, CANCEL.maxIds ?? CANCEL.maxCount);
  }
  return query;
}

export const ROUTES: Route[] = [
  {
    method: "POST",
    segments: ["v2", "publish"],
    param: "rest",
    access: "write",
    handler: async (ctx, request, destination) => {
      const result = await publish(ctx, publishRequest(request, destination));
      return accepted(result.body, result.status);
    },
  },
  {
    method: "POST",
    segments: ["v2", "enqueue"],
    param: "rest",
    access: "write",
    handler: async (ctx, request, rest) => {
      const slash = rest.indexOf("/");
      if (slash <= 0 || slash === rest.length - 1) throw badRequest("use /v2/enqueue/<queue>/<destination>");
      const result = await publish(ctx, publishRequest(request, rest.slice(slash + 1), rest.slice(0, slash)));
      return accepted(result.body, result.status);
    },
  },
  {
    method: "POST",
    segments: ["v2", "batch"],
    access: "write",
    // Room for ten message bodies, as many as the batch itself accepts (core/batch.ts).
    maxBodyBytes: (config) => config.maxBodyBytes * BATCH_BODIES,
    handler: async (ctx, request) => accepted(await publishBatch(ctx, request.body, request.sourceIp)),
  },
  // URL groups
  {
    method: "POST",
    segments: ["v2", "topics"],
    param: "id",
    suffix: ["endpoints"],
    access: "write",
    handler: async (ctx, request, name) => {
      await upsertEndpoints(ctx, name, jsonBody(request));
      return ok();
    },
  },
  {
    method: "DELETE",
    segments: ["v2", "topics"],
    param: "id",
    suffix: ["endpoints"],
    access: "write",
    handler: async (ctx, request, name) => {
      await removeEndpoints(ctx, name, jsonBody(request));
      return ok();
    },
  },
  ...resourceRoutes(["v2", "topics"], {
    list: listUrlGroups,
    get: async (ctx, name) => urlGroupView(await findUrlGroup(ctx, name)),
    remove: deleteUrlGroup,
  }),
  // Queues
  {
    method: "POST",
    segments: ["v2", "queues"],
    access: "write",
    handler: async (ctx, request) => {
      await upsertQueue(ctx, jsonBody(request));
      return ok();
    },
  },
  ...resourceRoutes(["v2", "queues"], { list: listQueues, get: getQueue, remove: deleteQueue }),
  ...pauseRoutes(["v2", "queues"], ["POST"], setQueuePaused),
  // Schedules: pause/resume before create, whose destination takes the rest of the path.
  ...pauseRoutes(["v2", "schedules"], ["POST", "PATCH"], setSchedulePaused),
  {
    method: "POST",
    segments: ["v2", "schedules"],
    param: "rest",
    access: "write",
    handler: async (ctx, request, destination) => json(await createSchedule(ctx, publishRequest(request, destination))),
  },
  ...resourceRoutes(["v2", "schedules"], { list: listSchedules, get: getSchedule, remove: deleteSchedule }),
  // Flow control
  {
    method: "GET",
    segments: ["v2", "flowcontrol"],
    access: "read",
    handler: async (ctx, request) => json(await listFlowControl(ctx, params(request).get("search"))),
  },
  {
    method: "GET",
    segments: ["v2", "flowcontrol"],
    param: "id",
    access: "read",
    handler: async (ctx, _request, key) => json(await getFlowControl(ctx, key)),
  },
  ...(
    [
      ["pause", (ctx, key) => pauseFlowControl(ctx, key)],
      ["resume", (ctx, key) => resumeFlowControl(ctx, key)],
      ["resetrate", (ctx, key) => resetFlowControlRate(ctx, key)],
      ["reset", (ctx, key) => resetFlowControlRate(ctx, key)],
      ["pin", (ctx, key, request) => pinFlowControl(ctx, key, params(request))],
      ["unpin", (ctx, key, request) => unpinFlowControl(ctx, key, params(request))],
    ] as [string, (ctx: HeraldContext, key: string, request: ApiRequest) => Promise<void>][]
  ).map(([action, run]): Route => ({
    method: "POST",
    segments: ["v2", "flowcontrol"],
    param: "id",
    suffix: [action],
    access: "write",
    handler: async (ctx, request, key) => {
      await run(ctx, key, request);
      return ok();
    },
  })),
  {
    method: "GET",
    segments: ["v2", "globalparallelism"],
    access: "read",
    handler: async (ctx) => json(await globalParallelism(ctx)),
  },
  {
    method: "GET",
    segments: ["v2", "messages"],
    param: "id",
    access: "read",
    handler: async (ctx, _request, id) => {
      const message = await findMessage(ctx, id);
      if (!message) throw notFound(`message "${id}" not found`);
      return json(messageView(message));
    },
  },
  {
    method: "DELETE",
    segments: ["v2", "messages"],
    param: "id",
    access: "write",
    handler: async (ctx, _request, id) => json(await cancelMessage(ctx, id)),
  },
  {
    method: "DELETE",
    segments: ["v2", "messages"],
    access: "write",
    handler: async (ctx, request) => json(await cancelMessages(ctx, cancelQuery(request))),
  },
  {
    method: "GET",
    segments: ["v2", "logs"],
    access: "read",
    handler: async (ctx, request) => json(await listLogs(ctx, parseListQuery(params(request), LOGS), "logs")),
  },
  {
    method: "GET",
    segments: ["v2", "events"],
    access: "read",
    handler: async (ctx, request) => json(await listLogs(ctx, parseListQuery(params(request), LOGS), "events")),
  },
  {
    method: "GET",
    segments: ["v2", "dlq"],
    access: "read",
    handler: async (ctx, request) => json(await listDlq(ctx, parseListQuery(params(request), DLQ))),
  },
  {
    method: "DELETE",
    segments: ["v2", "dlq"],
    access: "write",
    handler: async (ctx, request) => json(await deleteDlqBulk(ctx, parseListQuery(params(request), DLQ))),
  },
  {
    method: "POST",
    segments: ["v2", "dlq", "retry"],
    access: "write",
    handler: async (ctx, request) =>
      json(await retryDlqBulk(ctx, parseListQuery(params(request), DLQ), request.headers), 201),
  },
  {
    method: "POST",
    segments: ["v2", "dlq", "retry"],
    param: "id",
    access: "write",
    handler: async (ctx, request, id) => json(await retryDlq(ctx, id, request.headers), 201),
  },
  {
    method: "GET",
    segments: ["v2", "dlq"],
    param: "id",
    access: "read",
    handler: async (ctx, _request, id) => json(await getDlq(ctx, id)),
  },
  {
    method: "DELETE",
    segments: ["v2", "dlq"],
    param: "id",
    access: "write",
    handler: async (ctx, _request, id) => {
      await deleteDlq(ctx, id);
      return json({ deleted: 1 });
    },
  },
  // Upstash Workflow runs (core/workflow.ts); their logs as the Workflow Client reads them (core/workflow-logs.ts)
  ...["events", "logs"].map((name): Route => ({
    method: "GET",
    segments: ["v2", "workflows", name],
    access: "read",
    handler: async (ctx, request) => json(await listRunLogs(ctx, parseRunLogQuery(params(request)))),
  })),
  {
    method: "GET",
    segments: ["v2", "workflows", "runs"],
    param: "id",
    access: "read",
    handler: async (ctx, _request, runId) => json(await runSteps(ctx, runId)),
  },
  {
    method: "DELETE",
    segments: ["v2", "workflows", "runs"],
    param: "id",
    access: "write",
    handler: async (ctx, request, runId) => {
      const cancel = params(request).get("cancel")?.toLowerCase() === "true";
      await deleteRun(ctx, runId, cancel, new TextDecoder().decode(request.body));
      return ok();
    },
  },
  {
    method: "DELETE",
    segments: ["v2", "workflows", "runs"],
    access: "write",
    handler: async (ctx, request) => json(await cancelRuns(ctx, params(request))),
  },
  // The workflow DLQ (core/workflow-dlq.ts): the DLQ's workflow entries, and runs made again from them.
  {
    method: "GET",
    segments: ["v2", "workflows", "dlq"],
    access: "read",
    handler: async (ctx, request) => json(await listDlq(ctx, workflowOnly(parseListQuery(params(request), DLQ)))),
  },
  {
    method: "GET",
    segments: ["v2", "workflows", "dlq"],
    param: "id",
    access: "read",
    handler: async (ctx, _request, id) => json(await getWorkflowDlq(ctx, id)),
  },
  {
    method: "DELETE",
    segments: ["v2", "workflows", "dlq"],
    access: "write",
    handler: async (ctx, request) => json(await deleteWorkflowDlq(ctx, parseListQuery(params(request), DLQ))),
  },
  {
    method: "DELETE",
    segments: ["v2", "workflows", "dlq"],
    param: "id",
    access: "write",
    handler: async (ctx, _request, id) => {
      await deleteWorkflowDlqEntry(ctx, id);
      return json({ deleted: 1 });
    },
  },
  ...(["resume", "restart"] as const).flatMap((how): Route[] => [
    {
      method: "POST",
      segments: ["v2", "workflows", "dlq", how],
      access: "write",
      handler: async (ctx, request) =>
        json(await reviveMany(ctx, how, parseListQuery(params(request), DLQ), request.headers)),
    },
    {
      method: "POST",
      segments: ["v2", "workflows", "dlq", how],
      param: "id",
      access: "write",
      handler: async (ctx, request, id) => json(await reviveOne(ctx, how, id, request.headers)),
    },
  ]),
  {
    method: "POST",
    segments: ["v2", "workflows", "dlq", "callback"],
    param: "id",
    access: "write",
    handler: async (ctx, _request, id) => json(await retryFailureFunction(ctx, id)),
  },
  {
    method: "POST",
    segments: ["v2", "wait"],
    param: "id",
    access: "write",
    handler: async (ctx, request, eventId) => {
      await waitForEvent(ctx, eventId, request.headers, request.body);
      return ok();
    },
  },
  {
    method: "POST",
    segments: ["v2", "notify"],
    param: "rest",
    access: "write",
    // `/v2/notify/{eventId}`, or `/v2/notify/{runId}/{eventId}` (lookback: a later wait of that run gets it).
    handler: async (ctx, request, rest) => {
      let parts: string[];
      try {
        parts = rest.split("/").map((part) => decodeURIComponent(part));
      } catch {
        throw badRequest("the event id is not valid percent-encoding");
      }
      if (parts.length > 2 || parts.some((part) => part === "")) throw badRequest("use /v2/notify/[runId/]eventId");
      const [first, second] = parts as [string, string | undefined];
      const data = new TextDecoder().decode(request.body);
      return json(second === undefined ? await notify(ctx, first, data) : await notify(ctx, second, data, first));
    },
  },
  {
    method: "GET",
    segments: ["v2", "waiters"],
    param: "id",
    access: "read",
    handler: async (ctx, _request, eventId) => json(await listWaiters(ctx, eventId)),
  },
  {
    method: "GET",
    segments: ["v2", "keys"],
    access: "write", // a read, but of secrets (see Route.access)
    handler: async (ctx) => json(await ctx.keys.signingKeys()),
  },
  {
    method: "POST",
    segments: ["v2", "keys", "rotate"],
    access: "write",
    handler: async (ctx) => json(await ctx.keys.rotateSigningKeys()),
  },
  {
    // The Go SDK's path for the same operation.
    method: "POST",
    segments: ["v2", "rotate"],
    access: "write",
    handler: async (ctx) => json(await ctx.keys.rotateSigningKeys()),
  },
];
