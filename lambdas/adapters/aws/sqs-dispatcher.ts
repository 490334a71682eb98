import { ConflictException, CreateScheduleCommand, type SchedulerClient } from "@aws-sdk/client-scheduler";
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { DeliveryJob, Dispatcher } from "../../ports.ts";

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
}

export interface SqsDispatcherOptions {
  sqs: SQSClient;
  queueUrl: string;
  scheduler: Pick<SchedulerClient, "send">;
  scheduleGroup: string;
  /** The queue's ARN and the role EventBridge Scheduler assumes to send to it. */
  queueArn: string;
  schedulerRoleArn: string;
  /** Where Scheduler puts a job it could not send (the poison queue): never dropped silently. */
  scheduleDeadLetterArn: string;
  now?: () => number;
}

/**
 * The AWS Dispatcher: waits up to 15 minutes are SQS DelaySeconds on the standard queue; longer ones are
 * an EventBridge Scheduler one-time `at()` schedule that fires a minute early into the same queue, where
 * the delivery handler sends the job on with the remaining seconds (so long delays keep second precision).
 */
export class SqsDispatcher implements Dispatcher {
  private readonly options: SqsDispatcherOptions;
  private readonly now: () => number;
  constructor(options: SqsDispatcherOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  async dispatch(job: DeliveryJob, dueAt: number): Promise<void> {
    const body: JobBody = { m: job.messageId, r: job.retried, d: Math.round(dueAt) };
    const wait = dueAt - this.now();
    if (wait <= MAX_SQS_DELAY_MS) {
      await this.options.sqs.send(
        new SendMessageCommand({
          QueueUrl: this.options.queueUrl,
          MessageBody: JSON.stringify(body),
          DelaySeconds: Math.min(900, Math.max(0, Math.ceil(wait / 1000))),
        }),
      );
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
            Input: JSON.stringify(body),
            RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
            DeadLetterConfig: { Arn: this.options.scheduleDeadLetterArn },
          },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConflictException)) throw error;
    }
  }
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

export function parseJobBody(text: string): JobBody {
  const body = JSON.parse(text) as Partial<JobBody>;
  if (typeof body.m !== "string" || typeof body.r !== "number" || typeof body.d !== "number") {
    throw new Error("not a Herald delivery job");
  }
  return body as JobBody;
}
