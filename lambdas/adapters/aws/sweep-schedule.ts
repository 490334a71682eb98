// The sweep's recurring EventBridge Scheduler schedule (core/sweep.ts), described once: the CDK stack
// (lib/scheduling.ts) creates it, and emulated AWS creates the same one in its Scheduler stand-in.
import type { CreateScheduleCommandInput } from "@aws-sdk/client-scheduler";
import { SWEEP_INTERVAL_MS } from "../../core/sweep.ts";

/** In Herald's schedule group, beside the `cron-<id>` triggers of schedules (no clash: another prefix). */
export const SWEEP_SCHEDULE_NAME = "herald-sweep";

/** The SQS message body of a sweep: the delivery handler runs the sweep on it (sqs-delivery.ts). */
export interface SweepBody {
  sweep: 1;
}

export interface SweepScheduleOptions {
  scheduleGroup: string;
  /** The delivery queue. */
  queueArn: string;
  schedulerRoleArn: string;
  /** Where Scheduler puts a firing it could not send (the poison queue, alarmed). */
  scheduleDeadLetterArn: string;
}

export function sweepScheduleInput(options: SweepScheduleOptions): CreateScheduleCommandInput {
  return {
    Name: SWEEP_SCHEDULE_NAME,
    GroupName: options.scheduleGroup,
    Description: "Herald: heals queue turns and flow-control waits that a crash left without a next event",
    ScheduleExpression: `cron(0/${SWEEP_INTERVAL_MS / 60_000} * * * ? *)`,
    ScheduleExpressionTimezone: "UTC",
    FlexibleTimeWindow: { Mode: "OFF" },
    State: "ENABLED",
    Target: {
      Arn: options.queueArn,
      RoleArn: options.schedulerRoleArn,
      Input: JSON.stringify({ sweep: 1 } satisfies SweepBody),
      // A firing that could not be sent for a whole period is superseded by the next one.
      RetryPolicy: { MaximumEventAgeInSeconds: SWEEP_INTERVAL_MS / 1000, MaximumRetryAttempts: 10 },
      DeadLetterConfig: { Arn: options.scheduleDeadLetterArn },
    },
  };
}
