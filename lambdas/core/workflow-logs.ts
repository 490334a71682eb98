// Upstash Workflow run logs (docs/qstash-api.md "Workflows"): `GET /v2/workflows/events` (and
// `/v2/workflows/logs`), what the Workflow Client's `logs()` reads. A run's log is built from its record
// (state, URL, result), its step log (each step message's body is the step the SDK recorded) and the
// messages' log events (how far each step message's delivery got).
import type { HeraldContext } from "./context.ts";
import { badRequest, clip } from "./errors.ts";
import { queryValues, urlMatches } from "./filters.ts";
import type { HeaderMap } from "./headers.ts";
import { dlqIdFor, failureCallbackMessageId } from "./ids.ts";
import type { AttemptResponse, LogEvent, LogState, Message } from "./message.ts";
import type { WorkflowStep } from "../ports.ts";
import type { RunState, WorkflowRun } from "./workflow.ts";

/** Runs per page when `count` is not given (the SDK's `logs()`: "Default value is 10"). */
export const DEFAULT_RUNS_PAGE = 10;
/** Largest `count` (Herald's choice: QStash does not document one). */
export const MAX_RUNS_PAGE = 100;

const RUN_STATES: readonly RunState[] = ["RUN_STARTED", "RUN_SUCCESS", "RUN_FAILED", "RUN_CANCELED"];

export interface RunLogQuery {
  workflowRunId?: string[];
  workflowUrl?: string[];
  states?: RunState[];
  workflowCreatedAt?: number[];
  fromDate?: number;
  toDate?: number;
  label?: string[];
  flowControlKey?: string[];
  host?: string[];
  path?: string[];
  messageId?: string[];
  count: number;
  cursor?: { createdAt: number; runId: string };
}

/** Keys the SDK sends that are not filters, and filters Herald cannot apply to a run (ignored). */
const IGNORED_KEYS = new Set(["groupBy", "qstash_token", "callerIp", "callerIP"]);

export function parseRunLogQuery(params: URLSearchParams): RunLogQuery {
  const values = (key: string): string[] | undefined => {
    const all = queryValues(params, key);
    return all.length > 0 ? all : undefined;
  };
  const integer = (key: string, raw: string): number => {
    if (!/^-?\d{1,16}$/.test(raw)) throw badRequest(`invalid ${key} "${clip(raw)}": expected an integer`);
    return Number(raw);
  };
  const groupBy = params.get("groupBy");
  if (groupBy !== null && groupBy !== "workflowRunId") {
    throw badRequest(`invalid groupBy "${clip(groupBy)}": only workflowRunId is supported`);
  }
  const query: RunLogQuery = { count: DEFAULT_RUNS_PAGE };
  for (const key of ["workflowRunId", "workflowUrl", "label", "flowControlKey", "host", "path", "messageId"] as const) {
    const v = values(key);
    if (v) query[key] = v;
  }
  const states = values("state");
  if (states) {
    query.states = states.map((raw) => {
      const state = raw.toUpperCase();
      if (!(RUN_STATES as readonly string[]).includes(state)) {
        throw badRequest(`invalid state "${clip(raw)}": use one of ${RUN_STATES.join(", ")}`);
      }
      return state as RunState;
    });
  }
  const createdAt = values("workflowCreatedAt");
  if (createdAt) query.workflowCreatedAt = createdAt.map((raw) => integer("workflowCreatedAt", raw));
  const fromDate = values("fromDate")?.[0];
  if (fromDate !== undefined) query.fromDate = integer("fromDate", fromDate);
  const toDate = values("toDate")?.[0];
  if (toDate !== undefined) query.toDate = integer("toDate", toDate);
  const count = values("count")?.[0];
  if (count !== undefined) {
    const n = integer("count", count);
    if (n < 1 || n > MAX_RUNS_PAGE) throw badRequest(`invalid count: must be between 1 and ${MAX_RUNS_PAGE}`);
    query.count = n;
  }
  const cursor = params.get("cursor");
  if (cursor) query.cursor = decodeRunCursor(cursor);
  for (const key of params.keys()) {
    if (IGNORED_KEYS.has(key)) continue;
    if (
      ![
        "workflowRunId",
        "workflowUrl",
        "label",
        "flowControlKey",
        "host",
        "path",
        "messageId",
        "state",
        "workflowCreatedAt",
        "fromDate",
        "toDate",
        "count",
        "cursor",
      ].includes(key)
    ) {
      throw badRequest(`unknown filter "${clip(key)}"`);
    }
  }
  return query;
}

/** The cursor is the last run of the page, `<createdAt>.<runId>` base64url: runs are listed newest first. */
function encodeRunCursor(run: WorkflowRun): string {
  return Buffer.from(`${run.createdAt}.${run.runId}`, "utf8").toString("base64url");
}

function decodeRunCursor(raw: string): { createdAt: number; runId: string } {
  const text = /^[A-Za-z0-9_-]{1,400}$/.test(raw) ? Buffer.from(raw, "base64url").toString("utf8") : "";
  const m = /^(\d{1,16})\.(.+)$/.exec(text);
  if (!m) throw badRequest(`invalid cursor "${clip(raw)}"`);
  return { createdAt: Number(m[1]), runId: m[2] as string };
}

/** Newest first; runs created in the same ms by run id, descending. */
const newerFirst = (a: WorkflowRun, b: WorkflowRun): number =>
  b.createdAt - a.createdAt || (a.runId < b.runId ? 1 : a.runId > b.runId ? -1 : 0);

function afterCursor(run: WorkflowRun, cursor: { createdAt: number; runId: string }): boolean {
  return run.createdAt < cursor.createdAt || (run.createdAt === cursor.createdAt && run.runId < cursor.runId);
}

function runMatches(run: WorkflowRun, query: RunLogQuery): boolean {
  if (query.workflowRunId && !query.workflowRunId.includes(run.runId)) return false;
  if (query.workflowUrl && !query.workflowUrl.includes(run.url)) return false;
  if (query.states && !query.states.includes(run.state)) return false;
  if (query.workflowCreatedAt && !query.workflowCreatedAt.includes(run.createdAt)) return false;
  if (query.fromDate !== undefined && run.createdAt < query.fromDate) return false;
  if (query.toDate !== undefined && run.createdAt > query.toDate) return false;
  if (query.label && !run.settings.labels.some((label) => query.label?.includes(label))) return false;
  if (query.flowControlKey && !query.flowControlKey.includes(run.settings.flowControl?.key ?? "")) return false;
  return urlMatches(run.url, query.host, query.path);
}

type StepState = "STEP_PROGRESS" | "STEP_SUCCESS" | "STEP_RETRY" | "STEP_FAILED" | "STEP_CANCELED";

/** What a step message's delivery got to: its last logged event, with its errors and the message. */
interface Delivery {
  last?: LogState;
  errors: LogEvent[];
  /** The response of the attempt that succeeded. */
  response?: AttemptResponse;
  message?: Message;
}

const utf8 = new TextDecoder();
const text = (bytes: Uint8Array): string => utf8.decode(bytes);

/** The step's recorded body, as the SDK published it (`{stepId, stepName, stepType, out, concurrent, …}`). */
interface RecordedStep {
  stepId: number;
  stepName: string;
  stepType: string;
  out?: unknown;
  concurrent: number;
  targetStep?: number;
  [field: string]: unknown;
}

function parseStep(body: Uint8Array): RecordedStep | undefined {
  try {
    const step = JSON.parse(text(body)) as RecordedStep;
    return typeof step === "object" && step !== null && typeof step.stepId === "number" ? step : undefined;
  } catch {
    return undefined;
  }
}

/** Sleeps and waits are done when their message is delivered; a step that ran is done once recorded. */
const WAITING_TYPES = new Set(["SleepFor", "SleepUntil", "Wait"]);
const NOT_ATTEMPTED = new Set<LogState | undefined>([undefined, "CREATED", "CANCEL_REQUESTED", "CANCELED"]);

function nextState(last: LogState | undefined): StepState {
  switch (last) {
    case "RETRY":
    case "ERROR":
      return "STEP_RETRY";
    case "FAILED":
      return "STEP_FAILED";
    case "CANCEL_REQUESTED":
    case "CANCELED":
      return "STEP_CANCELED";
    default:
      return "STEP_PROGRESS";
  }
}

function stepError(event: LogEvent): Record<string, unknown> {
  return {
    error: event.error ?? "",
    body: event.response ? text(event.response.body) : "",
    headers: event.response?.header ?? {},
    status: event.response?.status ?? 0,
    time: event.time,
  };
}

/** A recorded step as the SDK's `StepLog` type describes it. */
function stepLog(
  step: WorkflowStep,
  recorded: RecordedStep,
  delivery: Delivery,
  state: StepState,
): Record<string, unknown> {
  const { stepId, stepName, stepType, out, concurrent, targetStep: _target, ...rest } = recorded;
  const message = delivery.message;
  const headers: HeaderMap = message?.header ?? {};
  return {
    ...rest,
    stepId,
    stepName,
    stepType,
    callType: step.callType,
    messageId: step.messageId,
    ...(out !== undefined ? { out } : {}),
    concurrent,
    state,
    createdAt: step.createdAt,
    retries: message?.maxRetries ?? 0,
    ...(message?.retryDelayExpression !== undefined ? { retryDelay: message.retryDelayExpression } : {}),
    headers,
  };
}

/**
 * Groups a run's step log the way the SDK's `StepLogGroup` says: the initial payload (`stepType`
 * "Initial", as the SDK's own processRawSteps names it), then each step a "sequential" group, parallel
 * steps (concurrent > 1) one "parallel" group, and last, while the run has not succeeded, a "next" group:
 * the step messages whose delivery (which runs the step after theirs) has not succeeded yet.
 */
export function groupSteps(
  run: WorkflowRun,
  steps: WorkflowStep[],
  deliveries: Map<string, Delivery>,
): Record<string, unknown>[] {
  const groups: Record<string, unknown>[] = [];
  const pending: Record<string, unknown>[] = [];
  const seenStepIds = new Set<number>();
  let parallel: { concurrent: number; steps: Record<string, unknown>[] } | undefined;
  const flushParallel = (): void => {
    if (parallel) groups.push({ type: "parallel", steps: parallel.steps });
    parallel = undefined;
  };
  for (const step of steps) {
    const delivery = deliveries.get(step.messageId) ?? { errors: [] };
    const delivered = delivery.last === "DELIVERED";
    let recorded: RecordedStep | undefined;
    if (step.seq === 0) {
      recorded = { stepId: 0, stepName: "init", stepType: "Initial", out: text(step.body), concurrent: 1 };
    } else if (step.callType === "step") {
      recorded = parseStep(step.body);
      // A parallel plan step (stepId 0) says which branch to run next; it is no step of its own.
      if (recorded && (recorded.stepId === 0 || seenStepIds.has(recorded.stepId))) recorded = undefined;
    }
    let waiting = false;
    if (recorded) {
      seenStepIds.add(recorded.stepId);
      // A sleep or wait not attempted yet is still going (or was cancelled); once attempted it is over.
      waiting = WAITING_TYPES.has(recorded.stepType) && NOT_ATTEMPTED.has(delivery.last);
      const log = stepLog(step, recorded, delivery, waiting ? nextState(delivery.last) : "STEP_SUCCESS");
      if (recorded.concurrent > 1) {
        if (parallel && parallel.concurrent !== recorded.concurrent) flushParallel();
        parallel ??= { concurrent: recorded.concurrent, steps: [] };
        parallel.steps.push(log);
        if (parallel.steps.length >= parallel.concurrent) flushParallel();
      } else {
        flushParallel();
        groups.push({ type: "sequential", steps: [log] });
      }
    }
    if (!delivered && !waiting && step.callType !== "toCallback" && run.state !== "RUN_SUCCESS") {
      if (delivery.last === undefined && run.state !== "RUN_STARTED") continue;
      pending.push({
        messageId: step.messageId,
        state: nextState(delivery.last),
        retries: delivery.message?.maxRetries ?? 0,
        ...(delivery.message?.retryDelayExpression !== undefined
          ? { retryDelay: delivery.message.retryDelayExpression }
          : {}),
        ...(delivery.errors.length > 0 ? { errors: delivery.errors.map(stepError) } : {}),
      });
    }
  }
  flushParallel();
  if (pending.length > 0) groups.push({ type: "next", steps: pending });
  return groups;
}

/** What the run's step messages' deliveries got to, from the event log. */
async function deliveriesOf(
  ctx: Pick<HeraldContext, "store">,
  steps: Pick<WorkflowStep, "messageId">[],
): Promise<Map<string, Delivery>> {
  const deliveries = new Map<string, Delivery>();
  if (steps.length === 0) return deliveries;
  const scan = ctx.store.scanEvents({ order: "earliestFirst", messageIds: steps.map((step) => step.messageId) });
  for await (const { item } of scan) {
    const delivery = deliveries.get(item.event.messageId) ?? { errors: [] };
    // DELIVERED and FAILED are final: a later CANCEL_REQUESTED for a delivered step changes nothing.
    if (delivery.last !== "DELIVERED" && delivery.last !== "FAILED") delivery.last = item.event.state;
    if (item.event.state === "ERROR") delivery.errors.push(item.event);
    if (item.event.state === "DELIVERED" && item.event.response) delivery.response = item.event.response;
    if (item.message) delivery.message = item.message;
    deliveries.set(item.event.messageId, delivery);
  }
  return deliveries;
}

const CALLBACK_STATES: Partial<Record<LogState, string>> = {
  DELIVERED: "CALLBACK_SUCCESS",
  FAILED: "CALLBACK_FAIL",
  CANCEL_REQUESTED: "CALLBACK_CANCELED",
  CANCELED: "CALLBACK_CANCELED",
};

/** The failure callback message Herald made for a failed step message (callbacks.ts), and its log. */
async function failureCallbackCall(ctx: Pick<HeraldContext, "store">, failedMessageId: string) {
  const messageId = failureCallbackMessageId(failedMessageId);
  const delivery = (await deliveriesOf(ctx, [{ messageId }])).get(messageId) ?? { errors: [] };
  const state = (delivery.last && CALLBACK_STATES[delivery.last]) ?? "CALLBACK_INPROGRESS";
  return { messageId, state, delivery };
}

/**
 * Where the failure function's call for a failed step message stands (the SDK's `failureCallbackInfo`):
 * the failure callback message Herald made for it (callbacks.ts), from its log.
 */
export async function failureCallbackInfo(
  ctx: Pick<HeraldContext, "store">,
  failedMessageId: string,
): Promise<{ state: string; responseStatus?: number; responseHeaders?: HeaderMap; responseBody?: string }> {
  const { state, delivery } = await failureCallbackCall(ctx, failedMessageId);
  // The response of the attempt that succeeded, else of the last that failed.
  const response = delivery.response ?? delivery.errors.at(-1)?.response;
  return {
    state,
    ...(response
      ? { responseStatus: response.status, responseHeaders: response.header, responseBody: text(response.body) }
      : {}),
  };
}

/**
 * The failure function's call (the SDK's `FailureFunctionLog`): the failure callback message Herald made
 * for the failed step (callbacks.ts), its state from its log, and what the failed step got.
 */
async function failureFunctionLog(
  ctx: Pick<HeraldContext, "store">,
  failedMessageId: string,
  url: string,
  dlqId: string,
  cause: LogEvent | undefined,
): Promise<Record<string, unknown>> {
  const { messageId, state, delivery } = await failureCallbackCall(ctx, failedMessageId);
  const log: Record<string, unknown> = {
    messageId,
    url,
    state,
    failHeaders: cause?.response?.header ?? {},
    failStatus: cause?.response?.status ?? 0,
    failResponse: cause?.response ? text(cause.response.body) : (cause?.error ?? ""),
    dlqId,
  };
  if (delivery.errors.length > 0) log["errors"] = delivery.errors.map(stepError);
  if (delivery.response) {
    log["responseStatus"] = delivery.response.status;
    log["responseHeaders"] = delivery.response.header;
    log["responseBody"] = text(delivery.response.body);
  }
  return log;
}

/** One run as the SDK's `WorkflowRunLog` type describes it. */
async function runLog(ctx: Pick<HeraldContext, "store">, run: WorkflowRun, steps: WorkflowStep[]) {
  const deliveries = await deliveriesOf(ctx, steps);
  const log: Record<string, unknown> = {
    workflowRunId: run.runId,
    workflowUrl: run.url,
    workflowState: run.state,
    workflowRunCreatedAt: run.createdAt,
  };
  if (run.endedAt !== undefined) log["workflowRunCompletedAt"] = run.endedAt;
  if (run.result !== undefined) log["workflowRunResponse"] = run.result;
  const initial = steps[0];
  if (initial) log["initialPayload"] = text(initial.body);
  log["steps"] = groupSteps(run, steps, deliveries);
  if (run.state === "RUN_FAILED") {
    // The run failed with the step message whose delivery ran out of retries: its DLQ entry.
    const failed = steps.find((step) => deliveries.get(step.messageId)?.last === "FAILED");
    const message = failed && deliveries.get(failed.messageId)?.message;
    if (failed) {
      const dlqId = dlqIdFor(message ?? { messageId: failed.messageId, createdAt: failed.createdAt });
      log["dlqId"] = dlqId;
      const settings = message?.failureCallback ?? run.settings.failureCallback;
      const cause = deliveries.get(failed.messageId)?.errors.at(-1);
      if (settings)
        log["failureFunction"] = await failureFunctionLog(ctx, failed.messageId, settings.url, dlqId, cause);
    }
  }
  if (run.invoker) {
    log["invoker"] = {
      workflowRunId: run.invoker.runId,
      workflowUrl: run.invoker.url,
      ...(run.invoker.createdAt !== undefined ? { workflowRunCreatedAt: run.invoker.createdAt } : {}),
    };
  }
  if (run.settings.labels.length > 0) {
    log["label"] = run.settings.labels[0];
    log["labels"] = run.settings.labels;
  }
  return log;
}

/**
 * The runs a query can match, newest first: the named ones, or the runs created within its dates, read
 * from the store's index of runs by creation a page at a time (a page of 10 reads about 10 runs).
 */
async function* runsNewestFirst(ctx: Pick<HeraldContext, "store">, query: RunLogQuery): AsyncIterable<WorkflowRun> {
  if (query.workflowRunId) {
    const named: WorkflowRun[] = [];
    for (const runId of new Set(query.workflowRunId)) {
      const found = await ctx.store.getRecord<WorkflowRun>("workflowRun", runId);
      if (found) named.push(found.value);
    }
    yield* named.sort(newerFirst);
    return;
  }
  const scan = ctx.store.scanRecords<WorkflowRun>("workflowRun", {
    order: "latestFirst",
    ...(query.cursor ? { after: { time: query.cursor.createdAt, key: query.cursor.runId } } : {}),
    ...(query.fromDate !== undefined ? { fromTime: query.fromDate } : {}),
    ...(query.toDate !== undefined ? { toTime: query.toDate } : {}),
  });
  for await (const { item } of scan) yield item;
}

/** `GET /v2/workflows/events?groupBy=workflowRunId`: runs newest first, `count` a page, with a cursor. */
export async function listRunLogs(
  ctx: Pick<HeraldContext, "store">,
  query: RunLogQuery,
): Promise<{ runs: Record<string, unknown>[]; cursor?: string }> {
  const cursor = query.cursor;
  const matching = (async function* () {
    for await (const run of runsNewestFirst(ctx, query)) {
      if (runMatches(run, query) && (!cursor || afterCursor(run, cursor))) yield run;
    }
  })();
  const runs: Record<string, unknown>[] = [];
  let last: WorkflowRun | undefined;
  let more = false;
  for await (const run of matching) {
    if (runs.length === query.count) {
      more = true; // with a messageId filter the next page may turn out empty
      break;
    }
    const steps = await ctx.store.listSteps(run.runId);
    if (query.messageId && !steps.some((step) => query.messageId?.includes(step.messageId))) continue;
    runs.push(await runLog(ctx, run, steps));
    last = run;
  }
  return more && last ? { runs, cursor: encodeRunCursor(last) } : { runs };
}
