import { createHash } from "node:crypto";
import { ConflictException, CreateScheduleCommand, type SchedulerClient } from "@aws-sdk/client-scheduler";
import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { Message } from "../../core/message.ts";
import type { DeliveryJob, Dispatcher } from "../../ports.ts";
import { currentSendWindow, type SendWindow } from "./send-window.ts";

/** SQS holds a message back for at most 15 minutes (DelaySeconds). */
export const MAX_SQS_DELAY_MS = 900_000;
/** One-time schedules have one-minute precision: fire this early, finish the wait with DelaySeconds. */
const SCHEDULE_LEAD_MS = 60_000;

/** The SQS message body of a delivery job (short keys: the body is billed per 64 KB chunk and logged). */
export interface JobBody {
  m: string;
  r: number;
  /** Due time, epoch ms: a job that arrives early (via a schedule) is sent on with the remaining delay. */
  d: number;
  /** The message itself, when it travels with the job (its body base64-encoded). */
  x?: Omit<Message, "body"> & { body: string };
  /** 1: sent again for a message whose earlier job may have made the attempt (DeliveryJob.redelivered). */
  a?: 1;
}

export interface SqsDispatcherOptions {
  sqs: SQSClient;
  queueUrl: string;
  /**
   * The FIFO queue queued messages travel through, one message group per lane (core/queue-lanes.ts).
   * Without it, core orders queues in DynamoDB.
   */
  orderedQueueUrl?: string;
  scheduler: Pick<SchedulerClient, "send">;
  scheduleGroup: string;
  /** The queue's ARN and the role EventBridge Scheduler assumes to send to it. */
  queueArn: string;
  schedulerRoleArn: string;
  /** Where Scheduler puts a job it could not send (the poison queue): never dropped silently. */
  scheduleDeadLetterArn: string;
  now?: () => number;
  /**
   * Called when a wait could not get its one-time schedule (Scheduler throttled or failing after the
   * client's own retries) and went into SQS for 15 minutes instead: the handlers count it as the
   * SchedulerFallbacks metric, which an alarm watches.
   */
  onScheduleFallback?: (error: unknown) => void;
}

/**
 * The AWS Dispatcher: waits up to 15 minutes are SQS DelaySeconds on the standard queue; longer ones are
 * an EventBridge Scheduler one-time `at()` schedule that fires a minute early into the same queue, where
 * the delivery handler sends the job on with the remaining seconds (so long delays keep second precision).
 * When Scheduler cannot make the schedule, the wait falls back to 15-minute SQS hops (see dispatch).
 */
/** SQS's longest MessageGroupId (SendMessage's API reference: "The length of MessageGroupId is 128 characters"). */
const MAX_MESSAGE_GROUP_ID = 128;

/**
 * The FIFO message group of a lane (`<queue>#<lane>`): the lane itself, unless a queue name near its 128
 * characters makes it longer than SQS takes; then the lane's start and a digest of it, the same for each
 * of its jobs. Only the group's sameness matters (nothing parses it back): two lanes sharing one would
 * only run one at a time.
 */
export function messageGroupOf(lane: string): string {
  if (lane.length <= MAX_MESSAGE_GROUP_ID) return lane;
  const digest = createHash("sha256").update(lane).digest("base64url"); // 43 characters, all allowed in a group id
  return `${lane.slice(0, MAX_MESSAGE_GROUP_ID - digest.length - 1)}~${digest}`;
}

export class SqsDispatcher implements Dispatcher {
  /** The SQS message is the message while it is in flight (docs/architecture.md §19): no DynamoDB record needed. */
  readonly carriesMessages = true;
  private readonly options: SqsDispatcherOptions;
  private readonly now: () => number;
  private readonly sends: SqsSendBatcher;
  readonly dispatchOrdered?: (job: DeliveryJob, lane: string) => Promise<void>;
  constructor(options: SqsDispatcherOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.sends = new SqsSendBatcher(options.sqs, options.queueUrl);
    if (options.orderedQueueUrl) {
      const ordered = new SqsSendBatcher(options.sqs, options.orderedQueueUrl, true);
      // The message group is the lane; the deduplication id the job, so an enqueue sent again within
      // SQS's five-minute window (a retried publish's) is one message. A FIFO queue takes no per-message
      // delay: a queued message's wait is core's (queue-lanes.ts).
      this.dispatchOrdered = (job, lane) =>
        ordered.send(jobJson({ m: job.messageId, r: job.retried, d: Math.round(this.now()) }), 0, {
          group: messageGroupOf(lane),
          deduplicationId: `${job.messageId}-${job.retried}`,
        });
    }
  }

  async dispatch(job: DeliveryJob, dueAt: number): Promise<void> {
    const body: JobBody = { m: job.messageId, r: job.retried, d: Math.round(dueAt) };
    if (job.redelivered) body.a = 1;
    if (job.message) body.x = { ...job.message, body: Buffer.from(job.message.body).toString("base64") };
    const wait = dueAt - this.now();
    if (wait <= MAX_SQS_DELAY_MS) {
      await this.sends.send(jobJson(body), Math.min(900, Math.max(0, Math.ceil(wait / 1000))));
      return;
    }
    try {
      await this.options.scheduler.send(
        new CreateScheduleCommand({
          // Derived from the job and its due time: dispatching the same job twice creates one schedule,
          // while a job sent again for a later time (a flow-control wait) gets its own.
          Name: scheduleName(job, dueAt),
          GroupName: this.options.scheduleGroup,
          ScheduleExpression: `at(${atTime(dueAt - SCHEDULE_LEAD_MS)})`,
          ScheduleExpressionTimezone: "UTC",
          FlexibleTimeWindow: { Mode: "OFF" },
          ActionAfterCompletion: "DELETE",
          Target: {
            Arn: this.options.queueArn,
            RoleArn: this.options.schedulerRoleArn,
            Input: jobJson(body),
            RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
            DeadLetterConfig: { Arn: this.options.scheduleDeadLetterArn },
          },
        }),
      );
    } catch (error) {
      if (error instanceof ConflictException) return; // made already: this job was dispatched before
      if (isPermanent(error)) throw error; // a misconfiguration (access, validation): no hop would help
      // Scheduler is throttled (CreateSchedule: 5,000/s in the large regions, 250 elsewhere) or failing,
      // after the SDK's adaptive retries. The wait must neither fail the publish nor be lost: it goes into
      // SQS for the longest delay SQS allows, and arrives early with its due time, when the delivery
      // handler dispatches it again for the rest (sqs-delivery.ts) — hops of 15 minutes, each trying
      // Scheduler again, until a schedule is made or the wait is under 15 minutes.
      this.options.onScheduleFallback?.(error);
      await this.sends.send(jobJson(body), MAX_SQS_DELAY_MS / 1000);
    }
  }
}

/** A client error other than throttling or a quota: trying again later cannot succeed. */
function isPermanent(error: unknown): boolean {
  const { $fault, name } = error as { $fault?: string; name?: string };
  return (
    $fault === "client" &&
    !["ThrottlingException", "ServiceQuotaExceededException", "TimeoutError"].includes(name ?? "")
  );
}

/** Scheduler names allow 64 characters; message ids are at most ~40 (`msg_` + 26, callback suffixes). */
function scheduleName(job: DeliveryJob, dueAt: number): string {
  const suffix = `-${job.retried}-${Math.round(dueAt / 1000)}`;
  return `${job.messageId.slice(0, 64 - suffix.length)}${suffix}`;
}

/** `yyyy-mm-ddThh:mm:ss` in UTC, the form `at()` takes. */
export function atTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19);
}

/**
 * The job as JSON that SQS accepts whatever the message holds. SQS refuses characters outside #x9 #xA #xD
 * #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF (fauxqs also refuses the last range), and a message's URL
 * or headers may hold any: JSON.stringify escapes control characters and lone surrogates; the rest are
 * escaped here, and parse back to the same string.
 */
export function jobJson(body: JobBody): string {
  return JSON.stringify(body).replace(/[\ud800-\udfff\ufffe\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

export function parseJobBody(text: string): JobBody {
  const body = JSON.parse(text) as Partial<JobBody>;
  if (typeof body.m !== "string" || typeof body.r !== "number" || typeof body.d !== "number") {
    throw new Error("not a Herald delivery job");
  }
  if (body.x !== undefined && (typeof body.x !== "object" || body.x === null || typeof body.x.body !== "string")) {
    throw new Error("not a Herald delivery job");
  }
  return body as JobBody;
}

/** The job a body describes, with its carried message decoded. */
export function jobOf(body: JobBody): DeliveryJob {
  const job: DeliveryJob = { messageId: body.m, retried: body.r };
  if (body.a === 1) job.redelivered = true;
  if (body.x) job.message = { ...body.x, body: new Uint8Array(Buffer.from(body.x.body, "base64")) };
  return job;
}

/** SendMessageBatch takes 10 entries and 256 KiB in all; it is billed per 64 KiB chunk of the payload. */
const BATCH_ENTRIES = 10;
const BATCH_BYTES = 256 * 1024;

/** A FIFO queue's message group and deduplication id. */
interface Ordering {
  group: string;
  deduplicationId: string;
}

interface PendingSend {
  body: string;
  delaySeconds: number;
  ordering?: Ordering;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** One entry's fields: a FIFO queue takes a group and deduplication id and refuses a per-message delay. */
const entryFields = (send: PendingSend) =>
  send.ordering
    ? {
        MessageBody: send.body,
        MessageGroupId: send.ordering.group,
        MessageDeduplicationId: send.ordering.deduplicationId,
      }
    : { MessageBody: send.body, DelaySeconds: send.delaySeconds };

/**
 * Once every job of a send window waits on a send, the sends wait this much longer for others: a job's
 * own parallel branches (a URL group's endpoints stored at once) each count it as waiting at their first
 * send, and their others follow within milliseconds. Each send arriving meanwhile restarts it.
 */
const SETTLED_GRACE_MS = 2;

/**
 * Coalesces the sends made in one turn of the event loop (a URL group's fan-out, a batch publish), or
 * within a send window (withSendWindow, send-window.ts), into SendMessageBatch requests: up to 10 jobs
 * for the price of one. Each caller's promise settles with its own entry.
 */
class SqsSendBatcher {
  private readonly sqs: SQSClient;
  private readonly queueUrl: string;
  private pending: PendingSend[] = [];
  /** FIFO: chunks go one after another, so SQS receives a group's messages in the order they were sent. */
  private readonly ordered: boolean;
  private previous: Promise<void> = Promise.resolve();
  private windowTimer: ReturnType<typeof setTimeout> | undefined;
  private graceTimer: ReturnType<typeof setTimeout> | undefined;
  /** The windows of the sends pending (send-window.ts), each with what stops watching it. */
  private readonly watched = new Map<SendWindow, () => void>();
  constructor(sqs: SQSClient, queueUrl: string, ordered = false) {
    this.sqs = sqs;
    this.queueUrl = queueUrl;
    this.ordered = ordered;
  }

  send(body: string, delaySeconds: number, ordering?: Ordering): Promise<void> {
    return new Promise((resolve, reject) => {
      const scope = currentSendWindow();
      if (this.pending.length === 0) {
        if (scope) this.windowTimer = setTimeout(() => this.flush(), scope.window.capMs);
        else setImmediate(() => this.flush());
      }
      let answered = (): void => undefined;
      this.pending.push({
        body,
        delaySeconds,
        ...(ordering ? { ordering } : {}),
        resolve: () => {
          answered();
          resolve();
        },
        reject: (error: unknown) => {
          answered();
          reject(error);
        },
      });
      if (!scope) return;
      // Joining sends made outside the window (emulated AWS runs the API in the same process): they go
      // on the next turn, this one with them.
      if (this.windowTimer) this.watchWindow(scope.window);
      // Counted as its job's send: if nothing else of the window can join now, the grace starts here.
      answered = scope.sending();
      if (this.pending.length >= BATCH_ENTRIES && this.windowTimer) this.flush(); // a full batch need not wait
    });
  }

  /** Flushes soon after every job of the window still running waits on a send (or none runs). */
  private watchWindow(window: SendWindow): void {
    if (this.watched.has(window)) return;
    this.watched.set(
      window,
      window.watch(() => {
        if (!window.settled) return;
        clearTimeout(this.graceTimer);
        this.graceTimer = setTimeout(() => this.flush(), SETTLED_GRACE_MS);
      }),
    );
  }

  private flush(): void {
    clearTimeout(this.windowTimer);
    clearTimeout(this.graceTimer);
    this.windowTimer = undefined;
    this.graceTimer = undefined;
    for (const unwatch of this.watched.values()) unwatch();
    this.watched.clear();
    const all = this.pending;
    this.pending = [];
    let chunk: PendingSend[] = [];
    let bytes = 0;
    const dispatch = (entries: PendingSend[]): void => {
      if (!this.ordered) return void this.sendChunk(entries);
      this.previous = this.previous.then(() => this.sendChunk(entries));
    };
    for (const send of all) {
      const size = Buffer.byteLength(send.body);
      if (chunk.length === BATCH_ENTRIES || (chunk.length > 0 && bytes + size > BATCH_BYTES)) {
        dispatch(chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(send);
      bytes += size;
    }
    if (chunk.length > 0) dispatch(chunk);
  }

  private async sendChunk(chunk: PendingSend[]): Promise<void> {
    if (chunk.length === 1) return this.sendOne(chunk[0] as PendingSend);
    try {
      const result = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: chunk.map((send, i) => ({ Id: String(i), ...entryFields(send) })),
        }),
      );
      for (const ok of result.Successful ?? []) chunk[Number(ok.Id)]?.resolve();
      // An entry the batch could not take is sent once more on its own (with the SDK's retries); in order
      // for a FIFO queue.
      const failed = (result.Failed ?? []).map((f) => chunk[Number(f.Id)] as PendingSend);
      if (this.ordered) for (const send of failed) await this.sendOne(send);
      else await Promise.all(failed.map((send) => this.sendOne(send)));
    } catch (error) {
      for (const send of chunk) send.reject(error);
    }
  }

  private async sendOne(send: PendingSend): Promise<void> {
    try {
      await this.sqs.send(new SendMessageCommand({ QueueUrl: this.queueUrl, ...entryFields(send) }));
      send.resolve();
    } catch (error) {
      send.reject(error);
    }
  }
}
