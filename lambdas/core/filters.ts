import { badRequest, clip } from "./errors.ts";
import { MAX_ID_LENGTH } from "./ids.ts";
import type { LogState, Message } from "./message.ts";

/** Filters shared by logs, DLQ and bulk cancel: OR within one key, AND across keys (docs/qstash-api.md §18). */
export interface MessageFilter {
  messageId?: string[];
  url?: string[];
  host?: string[];
  path?: string[];
  topicName?: string[];
  scheduleId?: string[];
  queueName?: string[];
  label?: string[];
  callerIp?: string[];
  flowControlKey?: string[];
  /** Workflow keys (the DLQ's, as the Workflow Client's `dlq.list` sends them): see WORKFLOW_KEYS. */
  source?: ("workflow" | "qstash")[];
  workflowRunId?: string[];
  workflowUrl?: string[];
  workflowCreatedAt?: number[];
  /** The state of a failed run's failure function (FAILURE_FUNCTION_STATES); the DLQ applies it. */
  failureFunctionState?: string[];
}

/** States of a failure function's call, as the Workflow SDK's `failureCallbackInfo.state` names them. */
export const FAILURE_FUNCTION_STATES = [
  "CALLBACK_INPROGRESS",
  "CALLBACK_SUCCESS",
  "CALLBACK_FAIL",
  "CALLBACK_CANCELED",
];

export interface ListQuery {
  filter: MessageFilter;
  /** Explicit ids (`messageIds` / `dlqIds`): when given, filters and cursor are ignored. */
  ids?: string[];
  states?: Set<LogState>;
  responseStatus?: number[];
  fromDate?: number;
  toDate?: number;
  order?: "earliestFirst" | "latestFirst";
  count?: number;
  cursor?: string;
}

const FILTER_KEYS = [
  "messageId",
  "url",
  "host",
  "path",
  "topicName",
  "scheduleId",
  "queueName",
  "label",
  "callerIp",
  "flowControlKey",
] as const;

/**
 * Keys an endpoint takes when its spec lists them in `extra`: `source=workflow` keeps workflow step
 * messages only (`source=qstash` the others), and the rest match the run a step message belongs to.
 */
export const WORKFLOW_KEYS = [
  "source",
  "workflowRunId",
  "workflowUrl",
  "workflowCreatedAt",
  "failureFunctionState",
] as const;

const LOG_STATES: readonly LogState[] = [
  "CREATED",
  "ACTIVE",
  "RETRY",
  "ERROR",
  "DELIVERED",
  "FAILED",
  "CANCEL_REQUESTED",
  "CANCELED",
];

export interface QuerySpec {
  /** Keys accepted besides the common filters (e.g. "state", "dlqIds"). */
  extra: readonly string[];
  /** The ids key of this endpoint, if any. */
  idsKey?: "messageIds" | "dlqIds";
  /** Reject unknown keys (the DLQ endpoints do, so a typo never deletes everything). */
  strict: boolean;
  /** Largest `count`. */
  maxCount: number;
  /** Most ids in one request, when not `maxCount`. */
  maxIds?: number;
}

/** Keys that may appear on any request and are not filters. */
export const TRANSPORT_KEYS = new Set(["qstash_token"]);

/** Ids a bulk operation names: at most `max`, each no longer than any id Herald makes. */
export function assertIds(key: string, ids: string[], max: number): string[] {
  if (ids.length > max) throw badRequest(`too many ${key}: at most ${max} per request`);
  const long = ids.find((id) => id.length > MAX_ID_LENGTH);
  if (long !== undefined) {
    throw badRequest(`invalid ${key} "${clip(long)}": an id has at most ${MAX_ID_LENGTH} characters`);
  }
  return ids;
}

/** A query key's values, repeated (`label=a&label=b`) or comma-separated (`label=a,b`); empty ones dropped. */
export function queryValues(params: URLSearchParams, key: string): string[] {
  return params
    .getAll(key)
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter((v) => v !== "");
}

export function parseListQuery(params: URLSearchParams, spec: QuerySpec): ListQuery {
  const known = new Set<string>([...FILTER_KEYS, "callerIP", "fromDate", "toDate", "count", "cursor", ...spec.extra]);
  if (spec.idsKey) known.add(spec.idsKey);
  // A key given without any value is an error, not "no filter": `?messageIds=` from a script with an
  // unset variable must not cancel or delete everything.
  const values = (key: string): string[] | undefined => {
    if (!params.has(key)) return undefined;
    const all = queryValues(params, key);
    if (all.length === 0) throw badRequest(`filter "${key}" needs a value`);
    return all;
  };

  if (spec.strict) {
    for (const key of params.keys()) {
      if (!known.has(key) && !TRANSPORT_KEYS.has(key)) throw badRequest(`unknown filter "${clip(key)}"`);
    }
  }

  const query: ListQuery = { filter: {} };
  for (const key of FILTER_KEYS) {
    const v = values(key);
    if (v) query.filter[key] = v;
  }
  parseWorkflowKeys(spec, values, query);
  const callerIP = values("callerIP");
  if (callerIP) query.filter.callerIp = [...(query.filter.callerIp ?? []), ...callerIP];
  if (spec.idsKey) {
    const ids = values(spec.idsKey);
    if (ids) query.ids = assertIds(spec.idsKey, ids, spec.maxIds ?? spec.maxCount);
  }
  const fromDate = integerParam(params, "fromDate");
  if (fromDate !== undefined) query.fromDate = fromDate;
  const toDate = integerParam(params, "toDate");
  if (toDate !== undefined) query.toDate = toDate;
  const count = integerParam(params, "count");
  if (count !== undefined) {
    if (count < 1 || count > spec.maxCount) throw badRequest(`invalid count: must be between 1 and ${spec.maxCount}`);
    query.count = count;
  }
  const cursor = params.get("cursor");
  if (cursor) query.cursor = cursor;
  if (spec.extra.includes("order")) {
    const order = params.get("order");
    if (order !== null) {
      if (order !== "earliestFirst" && order !== "latestFirst") {
        throw badRequest(`invalid order "${clip(order)}": use earliestFirst or latestFirst`);
      }
      query.order = order;
    }
  }
  if (spec.extra.includes("state")) {
    const states = values("state");
    if (states) query.states = new Set(states.flatMap(parseState));
  }
  if (spec.extra.includes("responseStatus")) {
    const statuses = values("responseStatus");
    if (statuses) {
      query.responseStatus = statuses.map((s) => {
        if (!/^\d{1,3}$/.test(s)) throw badRequest(`invalid responseStatus "${clip(s)}"`);
        return Number(s);
      });
    }
  }
  return query;
}

function parseWorkflowKeys(spec: QuerySpec, values: (key: string) => string[] | undefined, query: ListQuery): void {
  const wanted = (key: (typeof WORKFLOW_KEYS)[number]): string[] | undefined =>
    spec.extra.includes(key) ? values(key) : undefined;
  const source = wanted("source");
  if (source) {
    query.filter.source = source.map((raw) => {
      const value = raw.toLowerCase();
      if (value !== "workflow" && value !== "qstash") {
        throw badRequest(`invalid source "${clip(raw)}": use workflow or qstash`);
      }
      return value;
    });
  }
  const runIds = wanted("workflowRunId");
  if (runIds) query.filter.workflowRunId = runIds;
  const urls = wanted("workflowUrl");
  if (urls) query.filter.workflowUrl = urls;
  const failureStates = wanted("failureFunctionState");
  if (failureStates) {
    query.filter.failureFunctionState = failureStates.map((raw) => {
      const state = raw.toUpperCase();
      if (!FAILURE_FUNCTION_STATES.includes(state)) {
        throw badRequest(
          `invalid failureFunctionState "${clip(raw)}": use one of ${FAILURE_FUNCTION_STATES.join(", ")}`,
        );
      }
      return state;
    });
  }
  const createdAt = wanted("workflowCreatedAt");
  if (createdAt) {
    query.filter.workflowCreatedAt = createdAt.map((raw) => {
      if (!/^\d{1,16}$/.test(raw)) throw badRequest(`invalid workflowCreatedAt "${clip(raw)}": expected an integer`);
      return Number(raw);
    });
  }
}

function parseState(raw: string): LogState[] {
  const state = raw.toUpperCase();
  if (state === "IN_PROGRESS") return ["ACTIVE", "RETRY", "ERROR"];
  if (state === "CANCELLED") return ["CANCELED"];
  if ((LOG_STATES as readonly string[]).includes(state)) return [state as LogState];
  throw badRequest(`invalid state "${clip(raw)}": use one of ${LOG_STATES.join(", ")}, IN_PROGRESS`);
}

function integerParam(params: URLSearchParams, key: string): number | undefined {
  const raw = params.get(key);
  if (raw === null || raw === "") return undefined;
  if (!/^-?\d{1,16}$/.test(raw.trim())) throw badRequest(`invalid ${key} "${clip(raw)}": expected an integer`);
  return Number(raw);
}

const anyOf = (wanted: string[] | undefined, actual: string | undefined): boolean =>
  wanted === undefined || (actual !== undefined && wanted.includes(actual));

export function matchesFilter(message: Message, filter: MessageFilter): boolean {
  if (!anyOf(filter.messageId, message.messageId)) return false;
  if (!anyOf(filter.url, message.url)) return false;
  if (!anyOf(filter.topicName, message.topicName)) return false;
  if (!anyOf(filter.scheduleId, message.scheduleId)) return false;
  if (!anyOf(filter.queueName, message.queueName)) return false;
  if (!anyOf(filter.callerIp, message.callerIp)) return false;
  if (!anyOf(filter.flowControlKey, message.flowControl?.key)) return false;
  if (filter.source && !filter.source.includes(message.workflow ? "workflow" : "qstash")) return false;
  if (!anyOf(filter.workflowRunId, message.workflow?.runId)) return false;
  if (!anyOf(filter.workflowUrl, message.workflow?.runUrl)) return false;
  if (filter.workflowCreatedAt && !filter.workflowCreatedAt.includes(message.workflow?.runCreatedAt ?? -1))
    return false;
  if (filter.label && !message.labels.some((l) => filter.label?.includes(l))) return false;
  if (filter.host || filter.path) {
    let url: URL;
    try {
      url = new URL(message.url);
    } catch {
      return false;
    }
    if (filter.host && !filter.host.includes(url.host) && !filter.host.includes(url.hostname)) return false;
    if (filter.path && !filter.path.includes(url.pathname)) return false;
  }
  return true;
}

export const hasFilter = (filter: MessageFilter): boolean => Object.keys(filter).length > 0;

/** Whether a URL is on one of `host` (with or without its port) and one of `path`, where they are given. */
export function urlMatches(url: string, host: string[] | undefined, path: string[] | undefined): boolean {
  if (!host && !path) return true;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (host && !host.includes(parsed.host) && !host.includes(parsed.hostname)) return false;
  return !path || path.includes(parsed.pathname);
}
