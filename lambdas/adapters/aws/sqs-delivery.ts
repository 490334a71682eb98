import type { SQSBatchItemFailure, SQSRecord } from "aws-lambda";
import { isFlowLane } from "../../core/flow-control.ts";
import type { DeliveryJob, Dispatcher } from "../../ports.ts";
import type { FiringBody } from "./scheduler-cron-trigger.ts";
import { asWindowJobs } from "./send-window.ts";
import { jobOf, parseJobBody } from "./sqs-dispatcher.ts";
import type { SweepBody } from "./sweep-schedule.ts";

export interface DeliveryBatchOptions {
  dispatcher: Dispatcher;
  deliver: (job: DeliveryJob) => Promise<unknown>;
  /** A schedule's firing (EventBridge Scheduler puts these on the same queue). */
  fire?: (scheduleId: string, firedAt: number) => Promise<unknown>;
  /** The periodic sweep (its recurring schedule puts `{"sweep":1}` on the same queue). */
  sweep?: () => Promise<unknown>;
  now: () => number;
  onError?: (message: string, error: unknown) => void;
  /** How late an attempt starts after its due time, per job (the delivery latency metric). */
  observeLag?: (lagMs: number) => void;
  /**
   * Ordered records run one after another within their group. A record after the first of its group
   * starts only while `timeLeft()` (the invocation's) is at least `orderedRecordMs` (its longest attempt
   * and what follows it), rather than be cut off by the function's timeout; else it and the rest of its
   * group are handed, in order, to `handOff` (core: their lane's entries in the store) and are done here.
   * Without `handOff` they fail, and SQS gives them again after the visibility timeout.
   */
  timeLeft?: () => number;
  orderedRecordMs?: number;
  handOff?: (job: DeliveryJob) => Promise<unknown>;
}

/** A job arriving this little early is delivered now (SQS delays are whole seconds). */
const EARLY_TOLERANCE_MS = 1000;

type JobRecord = Pick<SQSRecord, "messageId" | "body"> & { attributes?: Partial<SQSRecord["attributes"]> };

/** The flow-control lane (flow-control.ts) a record came through, if it came through one. */
function flowLaneOf(record: JobRecord): string | undefined {
  const group = record.attributes?.MessageGroupId;
  return group !== undefined && isFlowLane(group) ? group : undefined;
}

/**
 * Handles one SQS batch of delivery jobs, schedule firings and sweeps. Records of the standard queue run
 * concurrently, and so do those of a flow-control key's lanes (no order among them). Records of a queue's
 * lanes on the FIFO queue (one message group per lane) run in order
 * within their group, groups side by side, and the first failure in a group fails the rest of that
 * group's records too, so SQS gives them again in order
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html: with FIFO queues, stop
 * at the first failure and return it and every later message of its group). The ids of records that
 * failed inside Herald go back as batch item failures (SQS redelivers them; the redrive queue catches
 * poison messages). A job that arrived early from a one-time schedule is sent on with the remaining delay.
 */
export async function processDeliveryBatch(
  records: JobRecord[],
  options: DeliveryBatchOptions,
): Promise<SQSBatchItemFailure[]> {
  const groups = new Map<string, JobRecord[]>();
  const unordered: JobRecord[] = [];
  for (const record of records) {
    const group = record.attributes?.MessageGroupId;
    // A flow-control key's lane only meters its jobs' arrival (SQS holds the group while this batch
    // runs); its records run side by side and meet the key's slots, handed over within the invocation.
    if (group === undefined || flowLaneOf(record)) unordered.push(record);
    else groups.set(group, [...(groups.get(group) ?? []), record]);
  }
  const failed = new Set<string>();
  const fail = (record: JobRecord, error: unknown): void => {
    options.onError?.(`delivery job ${record.messageId} failed inside Herald`, error);
    failed.add(record.messageId);
  };
  /**
   * A flow-control lane's record that failed goes on through the standard queue, due now: failed, it would
   * stay in flight until its visibility timeout and hold its whole lane meanwhile (SQS gives none of a
   * group while one is in flight: "Why doesn't my Amazon SQS FIFO queue return all messages or messages
   * in other message groups?", AWS Knowledge Center). The standard queue's redrive then counts its
   * receives. Only if that send fails does the record fail.
   */
  const failOrPassOn = async (record: JobRecord, error: unknown): Promise<void> => {
    if (flowLaneOf(record)) {
      try {
        await options.dispatcher.dispatch(jobOf(parseJobBody(record.body)), options.now());
        options.onError?.(`delivery job ${record.messageId} failed inside Herald; sent on`, error);
        return;
      } catch {
        // fails as any record
      }
    }
    fail(record, error);
  };
  const outOfTime = (): boolean =>
    options.timeLeft !== undefined && options.timeLeft() < (options.orderedRecordMs ?? 0);
  /** Hands the rest of a group over, in order; what cannot be handed over fails. */
  const handOffRest = async (rest: JobRecord[]): Promise<void> => {
    for (const [i, record] of rest.entries()) {
      try {
        if (!options.handOff) throw new Error("no time left to run this ordered job");
        await options.handOff({ ...jobOf(parseJobBody(record.body)), ordered: true });
      } catch (error) {
        fail(record, error);
        for (const later of rest.slice(i + 1)) failed.add(later.messageId);
        return;
      }
    }
  };
  // Each record, and each FIFO group (its records one after another), is a job of the send window the
  // handler runs the batch in (send-window.ts).
  await Promise.all(
    asWindowJobs([
      ...unordered.map(
        (record) => () => runJob(record, options).catch((error: unknown) => failOrPassOn(record, error)),
      ),
      ...[...groups.values()].map((group) => async () => {
        for (const [i, record] of group.entries()) {
          if (i > 0 && outOfTime()) return handOffRest(group.slice(i));
          try {
            await runJob(record, options, true);
          } catch (error) {
            fail(record, error);
            for (const rest of group.slice(i + 1)) failed.add(rest.messageId);
            return;
          }
        }
      }),
    ]),
  );
  return records.filter((r) => failed.has(r.messageId)).map((r) => ({ itemIdentifier: r.messageId }));
}

async function runJob(record: JobRecord, options: DeliveryBatchOptions, ordered = false): Promise<unknown> {
  const parsed = JSON.parse(record.body) as Partial<FiringBody & SweepBody>;
  if (parsed.sweep !== undefined) {
    if (!options.sweep) throw new Error("a sweep arrived, but this worker does not sweep");
    return options.sweep();
  }
  if (typeof parsed.s === "string") {
    // The scheduled time Scheduler filled in; else when the message reached SQS.
    const scheduled = typeof parsed.t === "string" ? Date.parse(parsed.t) : Number.NaN;
    const firedAt = Number.isFinite(scheduled) ? scheduled : Number(record.attributes?.SentTimestamp ?? options.now());
    if (!options.fire) throw new Error("a schedule firing arrived, but this worker does not fire schedules");
    return options.fire(parsed.s, firedAt);
  }
  const body = parseJobBody(record.body);
  const job = jobOf(body);
  if (Number(record.attributes?.ApproximateReceiveCount ?? 1) > 1) job.redelivered = true;
  const lane = flowLaneOf(record);
  if (lane) job.lane = lane;
  if (ordered) return options.deliver({ ...job, ordered: true }); // its wait, if any, is core's (queue-lanes.ts)
  const now = options.now();
  if (body.d - now > EARLY_TOLERANCE_MS) return options.dispatcher.dispatch(job, body.d);
  options.observeLag?.(Math.max(0, now - body.d));
  return options.deliver(job);
}

/**
 * The records whose jobs are of these messages, as batch item failures: SQS gives them again (their ends
 * could not be recorded, DynamoStore.flushEvents). Records that are not jobs of theirs are left alone.
 */
export function failuresOfMessages(records: JobRecord[], messageIds: string[]): SQSBatchItemFailure[] {
  const wanted = new Set(messageIds);
  return records
    .filter((record) => {
      try {
        return wanted.has(parseJobBody(record.body).m);
      } catch {
        return false; // a sweep's or a schedule firing's record
      }
    })
    .map((record) => ({ itemIdentifier: record.messageId }));
}
