// Schedules (docs/architecture.md §17, docs/qstash-api.md §15): a cron expression plus a stored publish request. The request's
// headers are kept as given and read again at every firing, so each firing applies every publish
// option exactly as a publish would (its delay counted from the firing). The recurring trigger is the
// platform's (CronTrigger); core decides whether a firing counts and makes the messages.
import { DEFAULT_CONFIG } from "./config.ts";
import type { HeraldContext } from "./context.ts";
import { firesAt, nextRunAfter, parseCron, previousRuns } from "./cron.ts";
import { parseDestination, splitQuery } from "./destination.ts";
import { ANY_DESTINATION, assertDestinationAllowed } from "./destination-policy.ts";
import { parseDuration } from "./duration.ts";
import { finalStateInLog, outlivedItsLog } from "./find-message.ts";
import { badRequest, clip, HttpError, notFound } from "./errors.ts";
import type { IncomingHeaders } from "./headers.ts";
import { derivedMessageId, newScheduleId } from "./ids.ts";
import { FINAL_STATES, type StoredMessage } from "./message.ts";
import { acceptPlan, planPublish, type PublishRequest } from "./publish.ts";
import { parsePublishOptions } from "./publish-options.ts";
import { assertQueueName } from "./queues.ts";
import { RESOURCE_NAME, updateRecord } from "./records.ts";
import { messageView, toBase64 } from "./views.ts";

const UNLIMITED = {
  ...DEFAULT_CONFIG,
  destinations: ANY_DESTINATION,
  maxRetries: Number.MAX_SAFE_INTEGER,
  maxTimeoutSec: Number.MAX_SAFE_INTEGER,
  maxDelaySec: Number.MAX_SAFE_INTEGER,
};

export interface Schedule {
  scheduleId: string;
  cron: string;
  /** As given in the path: a URL or a URL group name. */
  destination: string;
  rawQuery: string;
  queueName?: string;
  /** The creating request's headers (lower-case), minus credentials. */
  headers: IncomingHeaders;
  bodyBase64: string;
  callerIp?: string;
  createdAt: number;
  updatedAt: number;
  isPaused: boolean;
  /** Written on the schedule itself before its firings had a record of their own (ScheduleFiring). */
  lastScheduleTime?: number;
  lastMessageIds?: string[];
  error?: string;
}

/**
 * A schedule's last firing, in a record of its own, where its messages cannot stand for it: a firing that
 * made no message (it says why), and one whose schedule fires next more than half the retention later
 * (its messages may expire before the next firing's replace them). Rewriting the definition (its body and
 * headers, often over 1 KB: two write units or more) at each firing cost more than this small record.
 */
interface ScheduleFiring {
  lastScheduleTime: number;
  /** Message ids of the last firing. */
  lastMessageIds: string[];
  /** Why the last firing made no message. */
  error?: string;
}

/** How many of the latest firing times a view looks for messages at before it falls back to the record. */
const FIRINGS_LOOKED_AT = 3;
/** A trigger's clock may run ahead of ours: a firing up to this far in the future is looked for too. */
const TRIGGER_CLOCK_AHEAD_MS = 60_000;

/** The ids of the messages firing `minute` of a schedule makes: one per destination, derived, so found again. */
const firingMessageId = (scheduleId: string, minute: number, i: number): Promise<string> =>
  derivedMessageId(minute, `${scheduleId}/${minute}/${i}`);

interface LastFiring extends Partial<ScheduleFiring> {
  /** The firing's messages, as read while looking for them. */
  messages?: Map<string, StoredMessage>;
}

/**
 * The last firing. A firing's messages are its record: their ids derive from the schedule and the minute,
 * so the view looks for the messages of the latest firing times (after the schedule was made, before it
 * was paused) and takes the newest it finds, or the firing record when that is newer (a firing that made
 * no message) or nothing is found (firings rarer than half the retention, a trigger that missed several).
 */
async function lastFiring(ctx: HeraldContext, schedule: Schedule): Promise<LastFiring> {
  const stored = await ctx.store.getRecord<ScheduleFiring>("scheduleFiring", schedule.scheduleId);
  // Schedules that fired before firings had records of their own kept their last firing on themselves.
  let recorded: Partial<ScheduleFiring> = stored?.value ?? {
    lastScheduleTime: schedule.lastScheduleTime,
    lastMessageIds: schedule.lastMessageIds,
    error: schedule.error,
  };
  // A firing of an earlier schedule of this id, under way when it was deleted, may record itself after.
  if ((recorded.lastScheduleTime ?? Infinity) < schedule.createdAt) recorded = {};
  const until = (schedule.isPaused ? schedule.updatedAt : ctx.clock.now()) + TRIGGER_CLOCK_AHEAD_MS;
  const since = Math.max(schedule.createdAt, recorded.lastScheduleTime ?? -Infinity);
  // One more than FIRINGS_LOOKED_AT: the newest may be the coming minute (a trigger's clock ahead of ours).
  for (const minute of previousRuns(parseCron(schedule.cron), until, FIRINGS_LOOKED_AT + 1)) {
    if (minute <= since) break;
    const messages = new Map<string, StoredMessage>();
    for (let i = 0; ; i++) {
      const id = await firingMessageId(schedule.scheduleId, minute, i);
      const message = await ctx.store.getMessage(id);
      if (!message) break;
      messages.set(id, message);
    }
    if (messages.size > 0) return { lastScheduleTime: minute, lastMessageIds: [...messages.keys()], messages };
  }
  return recorded;
}

/**
 * Before a change the view cannot see through — a pause (its firings' messages may expire while it is
 * paused) or a new cron (the view looks at the new cron's times) — the last firing found from messages is
 * recorded.
 */
async function keepLastFiring(ctx: HeraldContext, schedule: Schedule): Promise<void> {
  const last = await lastFiring(ctx, schedule);
  if (last.messages && last.lastScheduleTime !== undefined && last.lastMessageIds) {
    await recordFiring(ctx, schedule.scheduleId, {
      lastScheduleTime: last.lastScheduleTime,
      lastMessageIds: last.lastMessageIds,
    });
  }
}

/** Records firing `minute` unless a later one is recorded already (firings may be processed late). */
async function recordFiring(ctx: HeraldContext, scheduleId: string, firing: ScheduleFiring): Promise<void> {
  await updateRecord<ScheduleFiring>(ctx, "scheduleFiring", scheduleId, (current) =>
    current && current.lastScheduleTime > firing.lastScheduleTime ? undefined : firing,
  );
}

/** Schedules are small records; bodies beyond this are refused (a record must fit one DynamoDB item). */
export const MAX_SCHEDULE_BODY_BYTES = 256 * 1024;
const NOT_STORED = new Set(["authorization", "proxy-authorization", "cookie", "content-length", "host", "connection"]);

export interface CreateScheduleRequest {
  destination: string;
  rawQuery: string;
  headers: IncomingHeaders;
  body: Uint8Array;
  callerIp?: string;
}

/** `POST /v2/schedules/{destination}`: creates, or replaces every setting of the schedule with that id. */
export async function createSchedule(
  ctx: HeraldContext,
  request: CreateScheduleRequest,
): Promise<{ scheduleId: string }> {
  const rawCron = request.headers["upstash-cron"];
  if (rawCron === undefined || rawCron.trim() === "") throw badRequest("Upstash-Cron header is required");
  const cron = parseCron(rawCron);
  const scheduleId = request.headers["upstash-schedule-id"]?.trim() || newScheduleId();
  if (!RESOURCE_NAME.test(scheduleId)) {
    throw badRequest(`invalid Upstash-Schedule-Id "${clip(scheduleId)}": use 1-128 of A-Z a-z 0-9 . _ -`);
  }
  if (request.body.byteLength > Math.min(MAX_SCHEDULE_BODY_BYTES, ctx.config.maxBodyBytes)) {
    throw new HttpError(413, `schedule body too large: at most ${MAX_SCHEDULE_BODY_BYTES} bytes`);
  }
  // Options come from headers or `upstash-*` query parameters, as a firing reads them.
  const queryConfig = splitQuery(request.rawQuery).config;
  if (request.headers["upstash-not-before"] !== undefined || queryConfig["upstash-not-before"] !== undefined) {
    throw badRequest("Upstash-Not-Before is not valid on schedules; use Upstash-Delay");
  }
  const queueName = request.headers["upstash-queue-name"]?.trim();
  if (queueName !== undefined) assertQueueName(queueName);
  const destination = parseDestination(request.destination, request.rawQuery);
  if (destination.kind === "url") assertDestinationAllowed(ctx.config.destinations, destination.url, "destination url");
  parsePublishOptions(request.headers, ctx.clock.now(), ctx.config, queryConfig); // every option is checked now: 400 early
  const headers: IncomingHeaders = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (!NOT_STORED.has(name)) Object.defineProperty(headers, name, { value, enumerable: true, writable: true });
  }
  const now = ctx.clock.now();
  const before = await ctx.store.getRecord<Schedule>("schedule", scheduleId);
  if (before && before.value.cron !== cron.expression) await keepLastFiring(ctx, before.value);
  let created = false;
  await updateRecord<Schedule>(ctx, "schedule", scheduleId, (current) => {
    created = current === undefined;
    const schedule: Schedule = {
      scheduleId,
      cron: cron.expression,
      destination: request.destination,
      rawQuery: request.rawQuery,
      headers,
      bodyBase64: toBase64(request.body),
      createdAt: current?.createdAt ?? now,
      updatedAt: now,
      isPaused: false,
    };
    if (queueName !== undefined) schedule.queueName = queueName;
    if (request.callerIp) schedule.callerIp = request.callerIp;
    if (current?.lastScheduleTime !== undefined) schedule.lastScheduleTime = current.lastScheduleTime;
    if (current?.lastMessageIds) schedule.lastMessageIds = current.lastMessageIds;
    return schedule;
  });
  // A new schedule has no last firing, even where one of an earlier schedule of that id was left (a
  // firing under way when it was deleted records itself after the delete).
  if (created) await ctx.store.deleteRecord("scheduleFiring", scheduleId);
  await ctx.cron.upsert(scheduleId, cron.expression, false);
  return { scheduleId };
}

async function existing(ctx: HeraldContext, scheduleId: string): Promise<Schedule> {
  const stored = await ctx.store.getRecord<Schedule>("schedule", scheduleId);
  if (!stored) throw notFound(`schedule "${scheduleId}" not found`);
  return stored.value;
}

export async function getSchedule(ctx: HeraldContext, scheduleId: string): Promise<Record<string, unknown>> {
  return scheduleView(ctx, await existing(ctx, scheduleId));
}

export async function listSchedules(ctx: HeraldContext): Promise<Record<string, unknown>[]> {
  const all = await ctx.store.listRecords<Schedule>("schedule");
  return Promise.all(all.map((s) => scheduleView(ctx, s)));
}

export async function deleteSchedule(ctx: HeraldContext, scheduleId: string): Promise<void> {
  // The trigger goes first: a firing that still arrives finds no schedule and does nothing.
  await ctx.cron.remove(scheduleId);
  if (!(await ctx.store.deleteRecord("schedule", scheduleId))) throw notFound(`schedule "${scheduleId}" not found`);
  await ctx.store.deleteRecord("scheduleFiring", scheduleId);
}

/** Pause and resume are idempotent; a paused schedule's firings are ignored (and its trigger disabled). */
export async function setSchedulePaused(ctx: HeraldContext, scheduleId: string, paused: boolean): Promise<void> {
  const schedule = await existing(ctx, scheduleId);
  if (paused && !schedule.isPaused) await keepLastFiring(ctx, schedule);
  const updated = await updateRecord<Schedule>(ctx, "schedule", scheduleId, (current) =>
    current && current.isPaused !== paused ? { ...current, isPaused: paused, updatedAt: ctx.clock.now() } : undefined,
  );
  if (updated) await ctx.cron.upsert(scheduleId, updated.cron, paused);
}

/**
 * One firing of a schedule at (the minute of) `firedAt`: a new message per destination carrying the
 * schedule id. Ignored when the schedule is gone or paused, or when the minute is not one of the cron's
 * (a trigger that can only express a superset of the cron, see cron.ts). Message ids derive from the
 * schedule and the minute, so a firing delivered twice publishes once.
 */
export async function fireSchedule(ctx: HeraldContext, scheduleId: string, firedAt: number): Promise<string[]> {
  const minute = Math.floor(firedAt / 60_000) * 60_000;
  const stored = await ctx.store.getRecord<Schedule>("schedule", scheduleId);
  if (!stored || stored.value.isPaused) return [];
  const schedule = stored.value;
  const cron = parseCron(schedule.cron);
  if (!firesAt(cron, minute)) return [];
  const request: PublishRequest = {
    destination: schedule.destination,
    rawQuery: schedule.rawQuery,
    headers: schedule.headers,
    body: new Uint8Array(Buffer.from(schedule.bodyBase64, "base64")),
  };
  if (schedule.callerIp) request.callerIp = schedule.callerIp;
  if (schedule.queueName !== undefined) request.queueName = schedule.queueName;
  const now = ctx.clock.now();
  let plan;
  try {
    plan = await planPublish(ctx, request, now);
  } catch (error) {
    // The destination became invalid (its URL group was deleted): the firing is skipped, and says why.
    if (!(error instanceof HttpError)) throw error;
    await recordFiring(ctx, scheduleId, { lastScheduleTime: minute, lastMessageIds: [], error: error.message });
    return [];
  }
  for (const [i, message] of plan.messages.entries()) {
    message.messageId = await firingMessageId(scheduleId, minute, i);
    message.scheduleId = scheduleId;
  }
  delete plan.deduplicationKey; // a firing is unique by its derived ids; deduplication headers do not apply
  await acceptPlan(ctx, plan);
  const messageIds = plan.messages.map((m) => m.messageId);
  // Its messages stand for the firing (lastFiring finds them) while they are kept: a record only when the
  // next firing may come after they expire.
  const next = nextRunAfter(cron, minute);
  if (next === undefined || next - minute > ctx.config.retentionMs / 2) {
    await recordFiring(ctx, scheduleId, { lastScheduleTime: minute, lastMessageIds: messageIds });
  }
  return messageIds;
}

const STATE_OF_FIRING = (state: string): "IN_PROGRESS" | "SUCCESS" | "FAIL" =>
  state === "DELIVERED" ? "SUCCESS" : (FINAL_STATES as readonly string[]).includes(state) ? "FAIL" : "IN_PROGRESS";

export async function scheduleView(ctx: HeraldContext, schedule: Schedule): Promise<Record<string, unknown>> {
  const now = ctx.clock.now();
  // The fields are read from the stored request the way a firing reads them. Limits lowered since the
  // schedule was made must not break listing: then the options are read with no limits, as stored.
  const queryConfig = splitQuery(schedule.rawQuery).config;
  let options: ReturnType<typeof parsePublishOptions>;
  try {
    options = parsePublishOptions(schedule.headers, now, ctx.config, queryConfig);
  } catch {
    options = parsePublishOptions(schedule.headers, now, UNLIMITED, queryConfig);
  }
  const sample = messageView({
    messageId: "",
    url: "",
    body: new Uint8Array(Buffer.from(schedule.bodyBase64, "base64")),
    createdAt: schedule.createdAt,
    ...options,
  });
  const delay = schedule.headers["upstash-delay"] ?? queryConfig["upstash-delay"];
  const last = await lastFiring(ctx, schedule);
  const view: Record<string, unknown> = {
    scheduleId: schedule.scheduleId,
    cron: schedule.cron,
    destination: destinationOf(schedule),
    method: options.method,
    createdAt: schedule.createdAt,
    isPaused: schedule.isPaused,
    header: sample.header,
    body: sample.body,
    bodyBase64: sample.bodyBase64,
    retries: options.maxRetries,
    delay: delay === undefined ? undefined : parseDuration(delay, "Upstash-Delay"),
    timeout: options.timeoutSec,
    callback: sample.callback,
    callbackHeader: sample.callbackHeader,
    failureCallback: sample.failureCallback,
    failureCallbackHeader: sample.failureCallbackHeader,
    callerIp: schedule.callerIp,
    callerIP: schedule.callerIp,
    queueName: schedule.queueName,
    flowControlKey: options.flowControl?.key,
    parallelism: options.flowControl?.parallelism,
    rate: options.flowControl?.rate,
    period: options.flowControl ? (options.flowControl.periodSec ?? 1) : undefined,
    retryDelayExpression: options.retryDelayExpression,
    label: sample.label,
    labels: sample.labels,
    lastScheduleTime: last.lastScheduleTime,
    error: last.error,
    // After the last firing: a firing that came early (a trigger's clock ahead of ours) is not shown again.
    nextScheduleTime: schedule.isPaused
      ? undefined
      : nextRunAfter(parseCron(schedule.cron), Math.max(now, last.lastScheduleTime ?? 0)),
  };
  if (last.lastMessageIds && last.lastMessageIds.length > 0) {
    const states: Record<string, string> = {};
    for (const id of last.lastMessageIds) {
      const message = last.messages ? last.messages.get(id) : await ctx.store.getMessage(id);
      // Kept past the retention no more, or a light record its log no longer tells of: no state to tell.
      if (!message || (message.status.implicit && outlivedItsLog(ctx, message.message))) continue;
      // A light record's status reads CREATED after its first attempt too, and CANCEL_REQUESTED after an
      // attempt in flight when the cancel came succeeded: its log says how it ended.
      const unsettled = message.status.implicit === true || message.status.state === "CANCEL_REQUESTED";
      const ended = unsettled ? await finalStateInLog(ctx, id) : undefined;
      states[id] = STATE_OF_FIRING(ended ?? message.status.state);
    }
    if (Object.keys(states).length > 0) view.lastScheduleStates = states;
  }
  for (const key of Object.keys(view)) if (view[key] === undefined) delete view[key];
  return view;
}

function destinationOf(schedule: Schedule): string {
  const destination = parseDestination(schedule.destination, schedule.rawQuery);
  return destination.kind === "url" ? destination.url : destination.name;
}
