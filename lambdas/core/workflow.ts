// Upstash Workflow runs (docs/workflows.md): the server side of `@upstash/workflow`. A run is a record
// (its URL, state and the trigger's settings) and a step log: every message published for the run, in
// acceptance order. A delivery to the workflow carries the log up to and including its own step, as the
// SDK expects; later steps inherit the trigger's retries, retry delay, flow control, failure callback,
// forwarded headers and labels.
import { cancelMessages } from "./cancel.ts";
import type { HeraldContext } from "./context.ts";
import { badRequest, clip, HttpError, notFound } from "./errors.ts";
import { queryValues, TRANSPORT_KEYS, urlMatches } from "./filters.ts";
import { derivedMessageId } from "./ids.ts";
import { parseJsonBody } from "./json-body.ts";
import { acceptLinked, planPublish } from "./publish.ts";
import { addHeader, type HeaderMap, type IncomingHeaders } from "./headers.ts";
import type { CallbackSettings, FlowControlSettings, Message } from "./message.ts";
import { toBase64 } from "./views.ts";
import type { WorkflowStep } from "../ports.ts";
import { putRecord } from "./records.ts";

/** A run may sleep or wait up to a year (the longest delay): its steps are kept that long past their creation. */
export const WORKFLOW_STEP_HORIZON_MS = 365 * 86_400_000;

export type RunState = "RUN_STARTED" | "RUN_SUCCESS" | "RUN_FAILED" | "RUN_CANCELED";

/** What the trigger set and every later step of the run gets unless it sets it itself. */
export interface RunSettings {
  maxRetries: number;
  retryDelayExpression?: string;
  flowControl?: FlowControlSettings;
  failureCallback?: CallbackSettings;
  timeoutSec?: number;
  /** Forwarded headers (prefix stripped). */
  header: HeaderMap;
  labels: string[];
}

export interface WorkflowRun {
  runId: string;
  /** The workflow endpoint (`Upstash-Workflow-Url`, else the trigger's destination). */
  url: string;
  createdAt: number;
  state: RunState;
  /** The trigger's message: the first step, whose body is the run's initial payload. */
  initialMessageId: string;
  settings: RunSettings;
  endedAt?: number;
  /** The body the SDK sends when the run ends (`workflowRunResponse`). */
  result?: string;
  /** The run that started this one with context.invoke: it gets a step when this one ends. */
  invoker?: Invoker;
  /** The DLQ entry this run was resumed or restarted from (workflow-dlq.ts). */
  revivedFrom?: string;
  /** The step message whose final failure ended the run (RUN_FAILED): its failure function's call. */
  failedBy?: string;
}

/** What `context.invoke` sends in its trigger's body around the invoked run's payload. */
export interface Invoker {
  runId: string;
  url: string;
  createdAt?: number;
  /** Headers of the step publish that resumes the invoker (its run id, URL, SDK version). */
  headers: Record<string, string[]>;
  step: { stepId?: number; targetStep?: number; stepName?: string; stepType?: string; concurrent?: number };
}

/** Where a message belongs in its run. */
export interface WorkflowLink {
  runId: string;
  /** Its place in the run's step log. */
  seq: number;
  callType: string;
  /** The run's creation and URL, which every delivery of the run carries. */
  runCreatedAt: number;
  runUrl: string;
  /** A wait's timeout message: the waiter it races a notify for (workflow-events.ts). */
  waiter?: string;
}

/** The `Upstash-Workflow-*` headers a publish carries for a run. */
interface WorkflowHeaders {
  runId: string;
  init: boolean;
  url?: string;
  callType: string;
}

function workflowHeadersOf(headers: IncomingHeaders): WorkflowHeaders | undefined {
  const runId = headers["upstash-workflow-runid"]?.trim();
  if (!runId) return undefined;
  if (runId.length > 256 || !/^[\w.:-]+$/.test(runId)) throw badRequest("invalid Upstash-Workflow-RunId");
  const url = headers["upstash-workflow-url"]?.trim();
  return {
    runId,
    init: headers["upstash-workflow-init"]?.trim().toLowerCase() === "true",
    ...(url ? { url } : {}),
    callType: headers["upstash-workflow-calltype"]?.trim() || "step",
  };
}

const RUN = "workflowRun";

export async function getRun(ctx: Pick<HeraldContext, "store">, runId: string) {
  return ctx.store.getRecord<WorkflowRun>(RUN, runId);
}

const STEP_TO_ONE_URL = "a workflow step goes to one URL, not a URL group";

/** A step must join a run that exists and is still going (400 otherwise: the SDK reads it as finished). */
function assertRunGoing(runId: string, run: WorkflowRun | undefined): WorkflowRun {
  if (!run) throw badRequest(`workflow run ${runId} does not exist`);
  if (run.state !== "RUN_STARTED") {
    throw badRequest(`workflow run ${runId} already finished (${run.state.toLowerCase().replace("run_", "")})`);
  }
  return run;
}

/**
 * The runs a batch's steps join, by id, read once each by checkStep (`undefined`: a trigger earlier in the
 * batch creates it).
 */
export type CheckedRuns = Map<string, WorkflowRun | undefined>;

/**
 * Checks what linkToRun would refuse, appending nothing: a batch checks every entry before it links the
 * first, so a batch refused by a later entry leaves no step of an earlier one in a run's log (§9). (A run
 * that ends while the batch links its earlier entries still refuses its step then: that race is the
 * same as between two requests.)
 */
export async function checkStep(
  ctx: HeraldContext,
  headers: IncomingHeaders,
  messages: Message[],
  checked: CheckedRuns,
): Promise<void> {
  const wf = workflowHeadersOf(headers);
  if (!wf) return;
  if (messages.length !== 1) throw badRequest(STEP_TO_ONE_URL);
  if (wf.init) {
    // An invoked run's trigger must carry its envelope (checked on a copy: linking unwraps the original).
    if (headers["upstash-workflow-invoke"]?.trim().toLowerCase() === "true")
      unwrapInvoke({ ...(messages[0] as Message) });
    if (!checked.has(wf.runId)) checked.set(wf.runId, undefined);
    return;
  }
  if (checked.has(wf.runId)) return;
  checked.set(wf.runId, assertRunGoing(wf.runId, (await getRun(ctx, wf.runId))?.value));
}

/**
 * Ties the message a publish plans to its workflow run, if its headers name one: a trigger creates the
 * run (a second trigger of the same run id is answered with the first one's message id), a step must
 * belong to a run that is still going (400 otherwise: the SDK reads it as "already finished") and gets the
 * run's settings it does not set itself. The step is appended to the log before the message is stored, so
 * a message never exists without its step. For a duplicate trigger it says which message the run started
 * with, and whether that one is stored already (then nothing is accepted again: a second delivery of the
 * trigger would run the workflow's first step twice).
 */
export async function linkToRun(
  ctx: HeraldContext,
  headers: IncomingHeaders,
  messages: Message[],
): Promise<{ duplicateOf?: string; stored?: boolean } | undefined> {
  const wf = workflowHeadersOf(headers);
  if (!wf) return undefined;
  if (messages.length !== 1) throw badRequest(STEP_TO_ONE_URL);
  const message = messages[0] as Message;
  let run: WorkflowRun;
  let duplicateOf: string | undefined;
  if (wf.init) {
    const invoker =
      headers["upstash-workflow-invoke"]?.trim().toLowerCase() === "true" ? unwrapInvoke(message) : undefined;
    run = {
      runId: wf.runId,
      url: wf.url ?? message.url,
      createdAt: message.createdAt,
      state: "RUN_STARTED",
      initialMessageId: message.messageId,
      settings: settingsOf(message),
      ...(invoker ? { invoker } : {}),
    };
    if (!(await putRecord(ctx.store, RUN, wf.runId, run, undefined, { listedAt: run.createdAt }))) {
      const existing = await getRun(ctx, wf.runId);
      if (!existing) throw new Error(`workflow run ${wf.runId} vanished while it was created`);
      run = existing.value;
      // The same trigger again (the SDK retried, or a user triggered the same id): the first one's message,
      // stored and dispatched if the first trigger died before it was.
      message.messageId = run.initialMessageId;
      duplicateOf = run.initialMessageId;
      // Sent already when the run has ended or gone past its first step, or its trigger has a record.
      const sent =
        run.state !== "RUN_STARTED" ||
        (await ctx.store.getMessage(run.initialMessageId)) !== undefined ||
        (await ctx.store.listSteps(wf.runId, 1)).length > 1;
      if (sent) return { duplicateOf, stored: true };
    }
  } else {
    // Read again, not taken from a batch's check: a run that ended meanwhile takes no more steps.
    run = assertRunGoing(wf.runId, (await getRun(ctx, wf.runId))?.value);
    // A context.call goes to a third party with its own settings; everything else is the run's.
    if (wf.callType !== "toCallback") inherit(message, run.settings, headers);
  }
  const seq = await ctx.store.appendStep(wf.runId, {
    messageId: message.messageId,
    callType: wf.init ? "step" : wf.callType,
    body: message.body,
    createdAt: message.createdAt,
  });
  message.workflow = {
    runId: wf.runId,
    seq,
    callType: wf.init ? "step" : wf.callType,
    runCreatedAt: run.createdAt,
    runUrl: run.url,
  };
  return duplicateOf === undefined ? {} : { duplicateOf };
}

/**
 * Creates a run with its first steps (the workflow DLQ's resume and restart, workflow-dlq.ts); answers the
 * last step's seq. A run of that id existing already is a 400.
 */
export async function createRun(
  ctx: HeraldContext,
  run: WorkflowRun,
  steps: Omit<WorkflowStep, "seq">[],
): Promise<number> {
  if (!(await putRecord(ctx.store, RUN, run.runId, run, undefined, { listedAt: run.createdAt }))) {
    throw new HttpError(409, `workflow run ${run.runId} exists already`);
  }
  let seq = -1;
  for (const step of steps) seq = await ctx.store.appendStep(run.runId, step);
  return seq;
}

/**
 * An invoked run's trigger carries `{body, headers, workflowRunId, workflowUrl, step}`: the run starts with
 * `body`; the rest says how to resume the invoker when it ends (SDK: LazyInvokeStep.getBody).
 */
function unwrapInvoke(message: Message): Invoker {
  const envelope = parseJsonBody(message.body, "an invoked workflow's trigger body must be JSON") as {
    body?: unknown;
    headers?: unknown;
    workflowRunId?: unknown;
    workflowRunCreatedAt?: unknown;
    workflowUrl?: unknown;
    step?: unknown;
  } | null;
  if (typeof envelope?.workflowRunId !== "string" || typeof envelope.workflowUrl !== "string") {
    throw badRequest("an invoked workflow's trigger names the invoking run (workflowRunId, workflowUrl)");
  }
  const body =
    envelope.body === undefined
      ? ""
      : typeof envelope.body === "string"
        ? envelope.body
        : JSON.stringify(envelope.body);
  message.body = new TextEncoder().encode(body);
  return {
    runId: envelope.workflowRunId,
    url: envelope.workflowUrl,
    ...(typeof envelope.workflowRunCreatedAt === "number" ? { createdAt: envelope.workflowRunCreatedAt } : {}),
    headers: (envelope.headers ?? {}) as Record<string, string[]>,
    step: (envelope.step ?? {}) as Invoker["step"],
  };
}

function settingsOf(message: Message): RunSettings {
  const settings: RunSettings = { maxRetries: message.maxRetries, header: message.header, labels: message.labels };
  if (message.retryDelayExpression !== undefined) settings.retryDelayExpression = message.retryDelayExpression;
  if (message.flowControl) settings.flowControl = message.flowControl;
  if (message.failureCallback) settings.failureCallback = message.failureCallback;
  if (message.timeoutSec !== undefined) settings.timeoutSec = message.timeoutSec;
  return settings;
}

/** The run's settings, where the step's own headers do not set them. */
export function inherit(message: Message, run: RunSettings, headers: IncomingHeaders): void {
  if (headers["upstash-retries"] === undefined) message.maxRetries = run.maxRetries;
  if (headers["upstash-retry-delay"] === undefined && run.retryDelayExpression !== undefined) {
    message.retryDelayExpression = run.retryDelayExpression;
  }
  if (!message.flowControl && run.flowControl) message.flowControl = run.flowControl;
  if (!message.failureCallback && run.failureCallback) message.failureCallback = run.failureCallback;
  if (message.timeoutSec === undefined && run.timeoutSec !== undefined) message.timeoutSec = run.timeoutSec;
  if (message.labels.length === 0) message.labels = run.labels;
  const header: HeaderMap = {};
  for (const [name, values] of Object.entries(run.header)) for (const value of values) addHeader(header, name, value);
  const own = new Set(Object.keys(message.header).map((name) => name.toLowerCase()));
  for (const name of Object.keys(header)) if (own.has(name.toLowerCase())) delete header[name];
  for (const [name, values] of Object.entries(message.header))
    for (const value of values) addHeader(header, name, value);
  message.header = header;
}

/** A step log entry as the SDK reads it (its `processRawSteps`): the body base64. */
interface RawStep {
  messageId: string;
  body: string;
  callType: string;
}

const rawSteps = (steps: { messageId: string; body: Uint8Array; callType: string }[]): RawStep[] =>
  steps.map((step) => ({ messageId: step.messageId, body: toBase64(step.body), callType: step.callType }));

/**
 * The message as its workflow receives it: the body is the run's step log up to and including this step
 * (the initial payload first), and `Upstash-Workflow-RunId` / `-CreatedAt` say which run. A log larger
 * than the message body limit is not carried: the body is empty and the SDK fetches the log itself
 * (its LazyFetch feature: `GET /v2/workflows/runs/{id}`, cut at this message's id). A context.call
 * (callType toCallback) goes to its third party as published.
 */
export async function asDelivered(ctx: Pick<HeraldContext, "store" | "config">, message: Message): Promise<Message> {
  const link = message.workflow;
  if (!link || link.callType === "toCallback") return message;
  const steps = await ctx.store.listSteps(link.runId, link.seq);
  const header: HeaderMap = { ...message.header };
  addHeader(header, "Upstash-Workflow-RunId", link.runId);
  addHeader(header, "Upstash-Workflow-CreatedAt", String(link.runCreatedAt));
  const log = new TextEncoder().encode(JSON.stringify(rawSteps(steps)));
  return { ...message, header, body: log.byteLength > ctx.config.maxBodyBytes ? new Uint8Array(0) : log };
}

/** The run's initial payload (the failure function's `sourceBody`). */
export async function initialPayload(ctx: Pick<HeraldContext, "store">, runId: string): Promise<Uint8Array> {
  return (await ctx.store.listSteps(runId, 0))[0]?.body ?? new Uint8Array(0);
}

/** `GET /v2/workflows/runs/{id}`: the whole step log of a run still going (the SDK's lazy fetch); 404 else. */
export async function runSteps(ctx: HeraldContext, runId: string): Promise<RawStep[]> {
  const run = await getRun(ctx, runId);
  if (!run || run.value.state !== "RUN_STARTED") throw notFound(`workflow run ${runId} not found or ended`);
  return rawSteps(await ctx.store.listSteps(runId));
}

/** Moves a running run to a final state; false when it had ended already (or does not exist). */
export async function endRun(
  ctx: HeraldContext,
  runId: string,
  state: Exclude<RunState, "RUN_STARTED">,
  result?: string,
  failedBy?: string,
): Promise<boolean> {
  // A lost compare-and-set answers with the run it met: the next try starts from it, not a second read.
  for (let found = await getRun(ctx, runId); ;) {
    if (!found || found.value.state !== "RUN_STARTED") return false;
    const endedAt = ctx.clock.now();
    const ended: WorkflowRun = { ...found.value, state, endedAt };
    if (result !== undefined) ended.result = result;
    if (failedBy !== undefined) ended.failedBy = failedBy;
    // An ended run is kept for the retention (logs, late publishes answered 400), then it may go.
    const expiresAt = endedAt + ctx.config.retentionMs;
    const swap = await ctx.store.swapRecord<WorkflowRun>(RUN, runId, ended, found.version, {
      expiresAt,
      listedAt: ended.createdAt,
    });
    if (swap.written) {
      if (ended.invoker) await resumeInvoker(ctx, ended);
      return true;
    }
    found = swap.current;
  }
}

/**
 * An invoked run ended: the invoking run gets the invoke step's result (`{body, isFailed, isCanceled}`),
 * under an id derived from the invoked run, so ending it twice (a retried DELETE) publishes it once.
 */
async function resumeInvoker(ctx: HeraldContext, ended: WorkflowRun): Promise<void> {
  const invoker = ended.invoker as Invoker;
  const { stepId, targetStep, ...rest } = invoker.step;
  const out = JSON.stringify({
    body: ended.result ?? "",
    isFailed: ended.state === "RUN_FAILED",
    isCanceled: ended.state === "RUN_CANCELED",
  });
  const step = { ...rest, stepId: stepId || targetStep || 0, out };
  const headers: IncomingHeaders = Object.fromEntries(
    Object.entries(invoker.headers).map(([name, values]) => [name.toLowerCase(), [values].flat().join(", ")]),
  );
  headers["upstash-workflow-runid"] ??= invoker.runId;
  const request = {
    destination: invoker.url,
    rawQuery: "",
    headers,
    body: new TextEncoder().encode(JSON.stringify(step)),
  };
  const messageId = await derivedMessageId(ended.createdAt, `${ended.runId}/invoke-result`);
  const plan = await planPublish(ctx, request, ctx.clock.now(), () => messageId);
  try {
    await acceptLinked(ctx, plan, await linkToRun(ctx, headers, plan.messages));
  } catch (error) {
    // The invoking run ended meanwhile (cancelled): nobody waits for this result.
    if (!(error instanceof HttpError && error.status === 400)) throw error;
  }
}

/**
 * `DELETE /v2/workflows/runs/{id}?cancel=`: the SDK ends a run that returned (`cancel=false`, with its
 * result as the body) or cancels one (`cancel=true`): its pending steps are cancelled too.
 */
export async function deleteRun(ctx: HeraldContext, runId: string, cancel: boolean, body: string): Promise<void> {
  if (!(await getRun(ctx, runId))) throw notFound(`workflow run ${runId} not found`);
  if (!cancel) {
    await endRun(ctx, runId, "RUN_SUCCESS", body);
    return;
  }
  if (!(await endRun(ctx, runId, "RUN_CANCELED"))) return;
  await cancelRunMessages(ctx, runId);
}

/** Cancels every step message of the run that has not been attempted yet. */
async function cancelRunMessages(ctx: HeraldContext, runId: string): Promise<void> {
  const ids = (await ctx.store.listSteps(runId)).map((step) => step.messageId);
  if (ids.length > 0) await cancelMessages(ctx, { filter: {}, ids });
}

/** Most runs one bulk cancel call cancels when it names no `count` (the SDK's default too). */
const DEFAULT_CANCEL_COUNT = 100;

/** What `DELETE /v2/workflows/runs` takes: the Workflow Client's cancel filters, `count` and `cursor`. */
const CANCEL_RUN_KEYS = new Set([
  "workflowRunIds",
  "workflowUrl",
  "workflowUrlExactMatch",
  "label",
  "fromDate",
  "toDate",
  "host",
  "path",
  "flowControlKey",
  "count",
  "cursor",
]);

/**
 * `DELETE /v2/workflows/runs`: cancels the runs still going that the query names — `workflowRunIds`, or
 * the filters the Workflow Client sends (`workflowUrl`, a prefix unless `workflowUrlExactMatch=true`;
 * `host` and `path` of the run's URL; `label`; `flowControlKey`; `fromDate`/`toDate` on the run's
 * creation, epoch ms), oldest first, at most `count` (default 100) per call. No filter cancels every run
 * (the client's `{all: true}`). Answers how many. Strict, as the call is destructive: an unknown key, or a
 * filter given no value (`?workflowRunIds=` from an unset variable), is a 400, never "every run";
 * `callerIp` too, which runs do not keep.
 */
export async function cancelRuns(ctx: HeraldContext, query: URLSearchParams): Promise<{ cancelled: number }> {
  for (const key of query.keys()) {
    if (key === "callerIp" || key === "callerIP")
      throw badRequest("runs do not keep their caller's IP: filter by others");
    if (!CANCEL_RUN_KEYS.has(key) && !TRANSPORT_KEYS.has(key)) throw badRequest(`unknown filter "${clip(key)}"`);
  }
  const list = (name: string): string[] => {
    const values = queryValues(query, name);
    if (query.has(name) && values.length === 0) throw badRequest(`filter "${name}" needs a value`);
    return values;
  };
  const number = (name: string): number | undefined => {
    const raw = query.get(name);
    if (raw === null || raw === "") return undefined;
    if (!/^\d{1,15}$/.test(raw)) throw badRequest(`${name} must be a number`);
    return Number(raw);
  };
  const ids = list("workflowRunIds");
  if (ids.length > 1000) throw badRequest("at most 1000 workflowRunIds");
  let runIds = ids;
  if (ids.length === 0) {
    const count = number("count") ?? DEFAULT_CANCEL_COUNT;
    const urls = list("workflowUrl");
    const exact = query.get("workflowUrlExactMatch") === "true";
    const labels = list("label");
    const hosts = list("host");
    const paths = list("path");
    const keys = list("flowControlKey");
    const from = number("fromDate");
    const to = number("toDate");
    runIds = [];
    // Oldest first from the index of runs by creation, until `count` match.
    const scan = ctx.store.scanRecords<WorkflowRun>(RUN, {
      order: "earliestFirst",
      ...(from !== undefined ? { fromTime: from } : {}),
      ...(to !== undefined ? { toTime: to } : {}),
    });
    for await (const { item: run } of scan) {
      if (runIds.length === count) break;
      if (run.state !== "RUN_STARTED") continue;
      if ((from !== undefined && run.createdAt < from) || (to !== undefined && run.createdAt > to)) continue;
      if (urls.length > 0 && !urls.some((url) => (exact ? run.url === url : run.url.startsWith(url)))) continue;
      if (labels.length > 0 && !run.settings.labels.some((label) => labels.includes(label))) continue;
      if (keys.length > 0 && !keys.includes(run.settings.flowControl?.key ?? "")) continue;
      if (!urlMatches(run.url, hosts.length > 0 ? hosts : undefined, paths.length > 0 ? paths : undefined)) continue;
      runIds.push(run.runId);
    }
  }
  let cancelled = 0;
  for (const runId of runIds) {
    if (await endRun(ctx, runId, "RUN_CANCELED")) {
      cancelled++;
      await cancelRunMessages(ctx, runId);
    }
  }
  return { cancelled };
}
