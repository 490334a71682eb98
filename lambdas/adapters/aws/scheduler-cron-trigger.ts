import { createHash } from "node:crypto";
import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  ResourceNotFoundException,
  UpdateScheduleCommand,
  type CreateScheduleCommandInput,
  type SchedulerClient,
} from "@aws-sdk/client-scheduler";
import { parseCron, toEventBridgeCron } from "../../core/cron.ts";
import type { CronTrigger } from "../../ports.ts";

export interface SchedulerCronTriggerOptions {
  scheduler: Pick<SchedulerClient, "send">;
  scheduleGroup: string;
  /** The standard delivery queue: each firing is an SQS message there. */
  queueArn: string;
  schedulerRoleArn: string;
  scheduleDeadLetterArn: string;
}

/** The SQS message body of a firing: the schedule id and the time Scheduler meant to fire. */
export interface FiringBody {
  s: string;
  t: string;
}

/** Scheduler names allow 64 characters of [0-9A-Za-z-_.]; longer schedule ids are hashed. */
export function triggerName(scheduleId: string): string {
  const name = `cron-${scheduleId}`;
  return name.length <= 64 ? name : `cron-${createHash("sha256").update(scheduleId).digest("hex").slice(0, 40)}`;
}

/**
 * On AWS, each Herald schedule is one EventBridge Scheduler recurring schedule in Herald's group, with
 * its timezone. A cron AWS cannot express exactly runs as a superset, and core filters each firing
 * (cron.ts). Pause and resume are the schedule's state.
 */
export class SchedulerCronTrigger implements CronTrigger {
  private readonly options: SchedulerCronTriggerOptions;
  constructor(options: SchedulerCronTriggerOptions) {
    this.options = options;
  }

  async upsert(scheduleId: string, cron: string, paused: boolean): Promise<void> {
    const translated = toEventBridgeCron(parseCron(cron));
    const input: CreateScheduleCommandInput = {
      Name: triggerName(scheduleId),
      GroupName: this.options.scheduleGroup,
      ScheduleExpression: translated.expression,
      ScheduleExpressionTimezone: translated.timezone,
      FlexibleTimeWindow: { Mode: "OFF" },
      State: paused ? "DISABLED" : "ENABLED",
      Target: {
        Arn: this.options.queueArn,
        RoleArn: this.options.schedulerRoleArn,
        // Scheduler fills in the firing's scheduled time: a late or repeated firing keeps its minute.
        Input: JSON.stringify({ s: scheduleId, t: "<aws.scheduler.scheduled-time>" } satisfies FiringBody),
        RetryPolicy: { MaximumEventAgeInSeconds: 3_600, MaximumRetryAttempts: 185 },
        DeadLetterConfig: { Arn: this.options.scheduleDeadLetterArn },
      },
    };
    try {
      await this.options.scheduler.send(new UpdateScheduleCommand(input));
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
      try {
        await this.options.scheduler.send(new CreateScheduleCommand(input));
      } catch (createError) {
        if (!(createError instanceof ConflictException)) throw createError;
        await this.options.scheduler.send(new UpdateScheduleCommand(input)); // created concurrently
      }
    }
  }

  async remove(scheduleId: string): Promise<void> {
    try {
      await this.options.scheduler.send(
        new DeleteScheduleCommand({ Name: triggerName(scheduleId), GroupName: this.options.scheduleGroup }),
      );
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
  }
}
