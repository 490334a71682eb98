// The workflow DLQ (docs/workflows.md): what the Workflow Client's `dlq.resume`, `dlq.restart`,
// `dlq.retryFailureFunction` and `dlq.delete` ask of the server. A failed run's DLQ entry is the step
// message whose retries ran out. Resume and restart start a new run (a new id, QStash's behaviour) from it
// and then remove the entry; the failed run stays as it ended.
import { acceptMessage } from "./accept.ts";
import { callbackMessage } from "./callbacks.ts";
import type { HeraldContext } from "./context.ts";
import { configOverrides, deleteDlq, entryView, selectEntries } from "./dlq.ts";
import { badRequest, HttpError, notFound } from "./errors.ts";
import type { ListQuery } from "./filters.ts";
import type { IncomingHeaders } from "./headers.ts";
import { derivedMessageId, derivedWorkflowRunId, newMessageId } from "./ids.ts";
import type { DlqEntry, Message } from "./message.ts";
import { createRun, getRun, type RunSettings, type WorkflowLink } from "./workflow.ts";

export type Revival = "resume" | "restart";

export interface RevivedRun {
  workflowRunId: string;
  workflowCreatedAt: number;
}

/** Most entries one bulk resume or restart revives (QStash's documented limit); a cursor says there are more. */
export const MAX_REVIVED_PER_CALL = 50;

/** How long a run made from a DLQ entry belongs to the call that made it (twice API Gateway's 30 s). */
const REVIVE_LEASE_MS = 60_000;

/** The DLQ entry of a workflow step, or 404 (none) / 400 (a plain QStash message's). */
async function workflowEntry(ctx: HeraldContext, dlqId: string): Promise<DlqEntry> {
  const entry = await ctx.store.getDlq(dlqId);
  if (!entry) throw notFound(`dlq message "${dlqId}" not found`);
  if (!entry.message.workflow) throw badRequest(`dlq message "${dlqId}" is not a workflow run's`);
  return entry;
}

/** `GET /v2/workflows/dlq/{dlqId}`: a workflow entry, as `GET /v2/dlq/{dlqId}` shows it. */
export async function getWorkflowDlq(ctx: HeraldContext, dlqId: string): Promise<Record<string, unknown>> {
  return entryView(ctx, await workflowEntry(ctx, dlqId));
}

/** `DELETE /v2/workflows/dlq/{dlqId}`: a workflow entry only. */
export async function deleteWorkflowDlqEntry(ctx: HeraldContext, dlqId: string): Promise<void> {
  await deleteDlq(ctx, (await workflowEntry(ctx, dlqId)).dlqId);
}

/** `POST /v2/workflows/dlq/{resume|restart}/{dlqId}`; `Upstash-Workflow-RunId` may name the new run. */
export async function reviveOne(
  ctx: HeraldContext,
  how: Revival,
  dlqId: string,
  headers: IncomingHeaders,
): Promise<RevivedRun> {
  const entry = await workflowEntry(ctx, dlqId);
  const runId = headers["upstash-workflow-runid"]?.trim();
  if (runId !== undefined && (runId.length > 256 || !/^[\w.:-]+$/.test(runId))) {
    throw badRequest("invalid Upstash-Workflow-RunId");
  }
  return revive(ctx, how, entry, headers, runId || undefined);
}

/** `POST /v2/workflows/dlq/{resume|restart}?dlqIds=…` or with filters: at most 50 runs per call. */
export async function reviveMany(
  ctx: HeraldContext,
  how: Revival,
  query: ListQuery,
  headers: IncomingHeaders,
): Promise<{ workflowRuns: RevivedRun[]; cursor?: string }> {
  const page = await selectWorkflowEntries(ctx, query, MAX_REVIVED_PER_CALL);
  // Named entries are all checked before any is revived; entries found by filter that are not a failed
  // run's step are passed over.
  if (query.ids) page.items.forEach(assertRevivable);
  const revivable = page.items.filter((entry) => isRevivable(entry.message.workflow as WorkflowLink));
  const workflowRuns: RevivedRun[] = [];
  for (const entry of revivable) workflowRuns.push(await revive(ctx, how, entry, headers));
  return { workflowRuns, ...(page.cursor ? { cursor: page.cursor } : {}) };
}

/** `DELETE /v2/workflows/dlq` by `dlqIds` or filters: workflow entries only. */
export async function deleteWorkflowDlq(
  ctx: HeraldContext,
  query: ListQuery,
): Promise<{ deleted: number; cursor?: string }> {
  const page = await selectWorkflowEntries(ctx, query);
  let deleted = 0;
  for (const entry of page.items) if (await ctx.store.deleteDlq(entry.dlqId)) deleted++;
  return { deleted, ...(page.cursor ? { cursor: page.cursor } : {}) };
}

/** The entries a query selects that belong to workflow runs (also when it names them by id). */
async function selectWorkflowEntries(ctx: HeraldContext, query: ListQuery, max?: number) {
  const page = await selectEntries(ctx, workflowOnly(query, max));
  return { ...page, items: page.items.filter((entry) => entry.message.workflow !== undefined) };
}

/** The query limited to workflow entries, and to `max` of them when it pages by filter. */
export function workflowOnly(query: ListQuery, max?: number): ListQuery {
  const limited: ListQuery = { ...query, filter: { ...query.filter, source: ["workflow"] } };
  if (max !== undefined && !query.ids) limited.count = Math.min(query.count ?? max, max);
  return limited;
}

/**
 * A new run from a failed one. Restart: the initial payload again, as a trigger. Resume: every step the
 * failed run had accepted, then its failed step again under a new message id, delivered with that log —
 * the workflow skips the steps it finds done and goes on from the failed one. Either way the run keeps
 * the failed run's settings, with the request's `Upstash-Retries`, `-Retry-Delay`, `-Delay` and
 * `-Flow-Control-*` over them. The entry goes once the new run's first message is accepted.
 *
 * The new run's id (unless the request names one) and its message's id derive from the entry: a call
 * repeated after a crash or a lost answer finishes the same run instead of starting a second one (steps
 * already appended are not appended again; the message is stored once).
 */
async function revive(
  ctx: HeraldContext,
  how: Revival,
  entry: DlqEntry,
  headers: IncomingHeaders,
  requestedRunId?: string,
): Promise<RevivedRun> {
  const link = assertRevivable(entry);
  const failed = await getRun(ctx, link.runId);
  if (!failed) throw notFound(`workflow run ${link.runId} of dlq message "${entry.dlqId}" is gone`);
  const steps = await ctx.store.listSteps(link.runId);
  const from = how === "restart" ? steps[0] : steps.find((step) => step.seq === link.seq);
  if (!from) throw notFound(`the step log of workflow run ${link.runId} is gone`);

  const runId = requestedRunId ?? (await derivedWorkflowRunId(`${entry.dlqId}/${how}`));
  const now = ctx.clock.now();
  const overrides = configOverrides(headers, now, ctx, { flowControl: true });
  let run = (await getRun(ctx, runId))?.value;
  if (run && run.revivedFrom !== entry.dlqId) throw new HttpError(409, `workflow run ${runId} exists already`);
  // Another call made this run moments ago and may still be appending its steps: only a call older than
  // any request can be (API Gateway ends them after 30 s) is taken as dead and finished here.
  if (run && now - run.createdAt < REVIVE_LEASE_MS) {
    throw new HttpError(409, `dlq message "${entry.dlqId}" is being revived by another call; try again in a minute`);
  }
  const createdAt = run?.createdAt ?? now;
  const messageId = await derivedMessageId(createdAt, `${runId}/revived`);
  if (!run) {
    run = {
      runId,
      url: failed.value.url,
      createdAt,
      state: "RUN_STARTED",
      initialMessageId: how === "restart" ? messageId : (steps[0] ?? from).messageId,
      settings: overriddenSettings(failed.value.settings, overrides),
      revivedFrom: entry.dlqId,
    };
    await createRun(ctx, run, []);
  }
  const { settings } = run;
  const carried = how === "restart" ? [] : steps.filter((step) => step.seq !== link.seq);
  const wanted = [
    ...carried.map(({ seq: _seq, ...step }) => step),
    { messageId, callType: "step", body: from.body, createdAt },
  ];
  // Appended in order by one call at a time (createRun and the lease refuse a concurrent one): whatever an
  // interrupted call appended is the start of `wanted`.
  const logged = (await ctx.store.listSteps(runId)).length;
  for (const step of wanted.slice(logged)) await ctx.store.appendStep(runId, step);
  const source = entry.message;
  const message: Message = {
    messageId,
    url: how === "restart" ? failed.value.url : source.url,
    method: how === "restart" ? "POST" : source.method,
    header: how === "restart" ? settings.header : source.header,
    body: from.body,
    maxRetries: settings.maxRetries,
    labels: settings.labels,
    notBefore: Math.max(now, overrides.notBefore ?? now),
    createdAt,
    workflow: { runId, seq: wanted.length - 1, callType: "step", runCreatedAt: createdAt, runUrl: run.url },
  };
  if (settings.retryDelayExpression !== undefined) message.retryDelayExpression = settings.retryDelayExpression;
  if (settings.timeoutSec !== undefined) message.timeoutSec = settings.timeoutSec;
  if (settings.flowControl) message.flowControl = settings.flowControl;
  if (settings.failureCallback) message.failureCallback = settings.failureCallback;
  if (source.callerIp !== undefined) message.callerIp = source.callerIp;
  // Stored (not carried with its job) so that a repeated call finds it and does not send it twice.
  await acceptMessage(ctx, message, { stored: true });
  await ctx.store.deleteDlq(entry.dlqId);
  return { workflowRunId: runId, workflowCreatedAt: createdAt };
}

/**
 * Not a `context.call` (its failure reached the workflow as the call's result; the run went on), nor a
 * wait's timeout with seq -1 (it never joined its run's log).
 */
const isRevivable = (link: WorkflowLink): boolean => link.callType !== "toCallback" && link.seq >= 0;

/**
 * The entry's place in a failed run, or 400: a plain message's entry; a `context.call`'s (its run went
 * on: the call's failure reached the workflow as the call's result); a wait's timeout that never joined
 * its run's log.
 */
function assertRevivable(entry: DlqEntry): WorkflowLink {
  const link = entry.message.workflow;
  if (!link) throw badRequest(`dlq message "${entry.dlqId}" is not a workflow run's`);
  if (!isRevivable(link)) {
    throw badRequest(`dlq message "${entry.dlqId}" is not a failed run's step: its run did not fail with it`);
  }
  return link;
}

function overriddenSettings(settings: RunSettings, overrides: Partial<Message>): RunSettings {
  const out: RunSettings = { ...settings };
  if (overrides.maxRetries !== undefined) out.maxRetries = overrides.maxRetries;
  if (overrides.retryDelayExpression !== undefined) out.retryDelayExpression = overrides.retryDelayExpression;
  if (overrides.timeoutSec !== undefined) out.timeoutSec = overrides.timeoutSec;
  if (overrides.flowControl) out.flowControl = overrides.flowControl;
  if (overrides.failureCallback) out.failureCallback = overrides.failureCallback;
  if (overrides.labels) out.labels = overrides.labels;
  return out;
}

/**
 * `POST /v2/workflows/dlq/callback/{dlqId}`: the run's failure function (or failure URL) is called again
 * with the same payload, as a new message; the entry stays.
 */
export async function retryFailureFunction(ctx: HeraldContext, dlqId: string): Promise<RevivedRun> {
  const entry = await workflowEntry(ctx, dlqId);
  const link = entry.message.workflow as NonNullable<Message["workflow"]>;
  const settings = entry.message.failureCallback;
  if (!settings) throw badRequest(`workflow run ${link.runId} has no failure function`);
  const now = ctx.clock.now();
  const steps = await ctx.store.listSteps(link.runId, 0);
  const message = callbackMessage({
    kind: "failureCallback",
    source: entry.message,
    settings,
    retried: entry.retried,
    dlqId,
    nowMs: now,
    ...(entry.response ? { response: entry.response } : {}),
    error: entry.error,
    ...(steps[0] ? { sourceBody: steps[0].body } : {}),
  });
  await acceptMessage(ctx, { ...message, messageId: newMessageId(now) });
  return { workflowRunId: link.runId, workflowCreatedAt: link.runCreatedAt };
}
