import { cancelMessage, cancelMessages } from "../core/cancel.ts";
import type { HeraldContext } from "../core/context.ts";
import { deleteDlq, deleteDlqBulk, getDlq, listDlq, retryDlq, retryDlqBulk } from "../core/dlq.ts";
import { badRequest, notFound } from "../core/errors.ts";
import { parseListQuery, type ListQuery, type QuerySpec } from "../core/filters.ts";
import { listLogs } from "../core/logs.ts";
import { publish } from "../core/publish.ts";
import { messageView } from "../core/views.ts";
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
  handler: Handler;
}

const LOGS: QuerySpec = { extra: ["state", "order"], idsKey: "messageIds", strict: false, maxCount: 1000 };
const DLQ: QuerySpec = { extra: ["order", "responseStatus"], idsKey: "dlqIds", strict: true, maxCount: 1000 };
const CANCEL: QuerySpec = { extra: [], idsKey: "messageIds", strict: true, maxCount: 1000 };

const params = (request: ApiRequest): URLSearchParams => new URLSearchParams(request.rawQuery);

/** PY's legacy bulk cancel sends `{"messageIds": [...]}` as a JSON body instead of the query. */
function cancelQuery(request: ApiRequest): ListQuery {
  const query = parseListQuery(params(request), CANCEL);
  if (query.ids || request.body.byteLength === 0) return query;
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(request.body));
  } catch {
    throw badRequest("invalid JSON body");
  }
  const ids = (parsed as { messageIds?: unknown } | null)?.messageIds;
  if (ids !== undefined) {
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === "string")) {
      throw badRequest("messageIds must be an array of strings");
    }
    query.ids = ids;
  }
  return query;
}

export const ROUTES: Route[] = [
  {
    method: "POST",
    segments: ["v2", "publish"],
    param: "rest",
    handler: async (ctx, request, destination) =>
      json(
        await publish(ctx, {
          destination,
          rawQuery: request.rawQuery,
          headers: request.headers,
          body: request.body,
          ...(request.sourceIp ? { callerIp: request.sourceIp } : {}),
        }),
      ),
  },
  {
    method: "GET",
    segments: ["v2", "messages"],
    param: "id",
    handler: async (ctx, _request, id) => {
      const stored = await ctx.store.getMessage(id);
      if (!stored) throw notFound(`message "${id}" not found`);
      return json(messageView(stored.message));
    },
  },
  {
    method: "DELETE",
    segments: ["v2", "messages"],
    param: "id",
    handler: async (ctx, _request, id) => json(await cancelMessage(ctx, id)),
  },
  {
    method: "DELETE",
    segments: ["v2", "messages"],
    handler: async (ctx, request) => json(await cancelMessages(ctx, cancelQuery(request))),
  },
  {
    method: "GET",
    segments: ["v2", "logs"],
    handler: async (ctx, request) => json(await listLogs(ctx, parseListQuery(params(request), LOGS), "logs")),
  },
  {
    method: "GET",
    segments: ["v2", "events"],
    handler: async (ctx, request) => json(await listLogs(ctx, parseListQuery(params(request), LOGS), "events")),
  },
  {
    method: "GET",
    segments: ["v2", "dlq"],
    handler: async (ctx, request) => json(await listDlq(ctx, parseListQuery(params(request), DLQ))),
  },
  {
    method: "DELETE",
    segments: ["v2", "dlq"],
    handler: async (ctx, request) => json(await deleteDlqBulk(ctx, parseListQuery(params(request), DLQ))),
  },
  {
    method: "POST",
    segments: ["v2", "dlq", "retry"],
    handler: async (ctx, request) =>
      json(await retryDlqBulk(ctx, parseListQuery(params(request), DLQ), request.headers), 201),
  },
  {
    method: "POST",
    segments: ["v2", "dlq", "retry"],
    param: "id",
    handler: async (ctx, request, id) => json(await retryDlq(ctx, id, request.headers), 201),
  },
  {
    method: "GET",
    segments: ["v2", "dlq"],
    param: "id",
    handler: async (ctx, _request, id) => json(await getDlq(ctx, id)),
  },
  {
    method: "DELETE",
    segments: ["v2", "dlq"],
    param: "id",
    handler: async (ctx, _request, id) => {
      await deleteDlq(ctx, id);
      return json({ deleted: 1 });
    },
  },
  {
    method: "GET",
    segments: ["v2", "keys"],
    handler: async (ctx) => json(await ctx.keys.signingKeys()),
  },
  {
    method: "POST",
    segments: ["v2", "keys", "rotate"],
    handler: async (ctx) => json(await ctx.keys.rotateSigningKeys()),
  },
  {
    // The Go SDK's path for the same operation.
    method: "POST",
    segments: ["v2", "rotate"],
    handler: async (ctx) => json(await ctx.keys.rotateSigningKeys()),
  },
];
