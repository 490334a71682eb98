import * as Scheduler from "@aws-sdk/client-scheduler";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { nextRunAfter, parseCron, type CronSchedule } from "../lambdas/core/cron.ts";

interface Recurring {
  input: Scheduler.CreateScheduleCommandInput;
  cron: CronSchedule;
  next: number | undefined;
}

/**
 * EventBridge Scheduler has no emulator. In emulated AWS this stands in for its client at the SDK
 * boundary, for the calls Herald makes: one-time `at()` schedules and recurring `cron()` schedules in a
 * group, whose target is an SQS queue (created, updated, deleted). It sends the target input to that
 * queue when due, filling in `<aws.scheduler.scheduled-time>` as Scheduler does. Recurring schedules are
 * kept in a JSON file (given `file`) so they survive a restart, as the real service keeps them; pending
 * one-time schedules are in memory only.
 */
export class EmulatedScheduler implements Pick<Scheduler.SchedulerClient, "send"> {
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Pending one-time schedules: fired by their timer or by `tick`, whichever comes first, then deleted. */
  private readonly oneTime = new Map<string, { input: Scheduler.CreateScheduleCommandInput; fireAt: number }>();
  readonly created: Scheduler.CreateScheduleCommandInput[] = [];
  private readonly recurring = new Map<string, Recurring>();
  private recurringTimer: NodeJS.Timeout | undefined;
  private readonly sqs: SQSClient;
  private readonly queueUrlOf: (queueArn: string) => string;
  private readonly file: string | undefined;

  constructor(sqs: SQSClient, queueUrlOf: (queueArn: string) => string, file?: string) {
    this.sqs = sqs;
    this.queueUrlOf = queueUrlOf;
    this.file = file;
    if (file && existsSync(file)) {
      for (const input of JSON.parse(readFileSync(file, "utf8")) as Scheduler.CreateScheduleCommandInput[])
        this.setRecurring(input);
      this.rearm();
    }
  }

  private setRecurring(input: Scheduler.CreateScheduleCommandInput): void {
    const cron = parseCron(`CRON_TZ=${input.ScheduleExpressionTimezone ?? "UTC"} ${toFiveFields(input)}`);
    const enabled = input.State !== "DISABLED";
    this.recurring.set(`${input.GroupName}/${input.Name}`, {
      input,
      cron,
      next: enabled ? nextRunAfter(cron, Date.now()) : undefined,
    });
  }

  private save(): void {
    if (this.file) writeFileSync(this.file, JSON.stringify([...this.recurring.values()].map((r) => r.input)));
  }

  send = (async (command: unknown) => {
    if (command instanceof Scheduler.CreateScheduleCommand || command instanceof Scheduler.UpdateScheduleCommand) {
      const input = command.input as Scheduler.CreateScheduleCommandInput;
      const key = `${input.GroupName}/${input.Name}`;
      const exists = this.recurring.has(key);
      if (command instanceof Scheduler.CreateScheduleCommand && exists) throw conflict(key);
      if (input.ScheduleExpression?.startsWith("at(")) return this.createAt(input);
      if (command instanceof Scheduler.UpdateScheduleCommand && !exists) throw notFound(key);
      if (command instanceof Scheduler.CreateScheduleCommand) this.created.push(input);
      this.setRecurring(input);
      this.save();
      this.rearm();
      return { ScheduleArn: arnOf(key) };
    }
    if (command instanceof Scheduler.DeleteScheduleCommand) {
      const key = `${command.input.GroupName}/${command.input.Name}`;
      if (!this.recurring.delete(key)) throw notFound(key);
      this.save();
      this.rearm();
      return {};
    }
    throw new Error("EmulatedScheduler: unsupported command");
  }) as Scheduler.SchedulerClient["send"];

  /**
   * Sends every firing due at or before `now`, recurring and one-time (tests and benchmarks call this
   * instead of waiting); `only` limits it to one kind (the cost bench fires the stack's recurring sweep
   * apart from the messages' one-time schedules, whose cost it measures).
   */
  async tick(now = Date.now(), only?: "recurring" | "oneTime"): Promise<void> {
    const sends: Promise<unknown>[] = [];
    for (const [key, { input, fireAt }] of this.oneTime) {
      if (fireAt > now || only === "recurring") continue;
      this.oneTime.delete(key);
      sends.push(this.sendTarget(input, fireAt));
    }
    for (const schedule of this.recurring.values()) {
      if (schedule.next === undefined || schedule.next > now || only === "oneTime") continue;
      sends.push(this.sendTarget(schedule.input, schedule.next));
      schedule.next = nextRunAfter(schedule.cron, now);
    }
    await Promise.all(sends);
    this.rearm();
  }

  private createAt(input: Scheduler.CreateScheduleCommandInput) {
    this.created.push(input);
    const at = /^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$/.exec(input.ScheduleExpression ?? "");
    if (!at || !input.Target?.Arn) throw new Error(`unsupported schedule ${input.ScheduleExpression}`);
    const fireAt = Date.parse(`${at[1]}Z`);
    const key = `${input.GroupName}/${input.Name}#${this.created.length}`;
    this.oneTime.set(key, { input, fireAt });
    this.arm(fireAt, () => {
      if (this.oneTime.delete(key)) void this.sendTarget(input, fireAt); // unless tick fired it already
    });
    return { ScheduleArn: arnOf(`${input.GroupName}/${input.Name}`) };
  }

  private async sendTarget(input: Scheduler.CreateScheduleCommandInput, scheduledAt: number): Promise<void> {
    const body = (input.Target?.Input ?? "").replaceAll(
      "<aws.scheduler.scheduled-time>",
      new Date(scheduledAt).toISOString().replace(/\.\d{3}Z$/, "Z"),
    );
    await this.sqs.send(
      new SendMessageCommand({ QueueUrl: this.queueUrlOf(input.Target?.Arn as string), MessageBody: body }),
    );
  }

  private rearm(): void {
    clearTimeout(this.recurringTimer);
    let soonest = Number.POSITIVE_INFINITY;
    for (const s of this.recurring.values()) if (s.next !== undefined) soonest = Math.min(soonest, s.next);
    if (soonest === Number.POSITIVE_INFINITY) return;
    this.recurringTimer = setTimeout(() => void this.tick(), Math.min(Math.max(0, soonest - Date.now()), 3_600_000));
    this.recurringTimer.unref();
  }

  /** setTimeout cannot wait longer than ~24.8 days: far-off times re-arm in steps. */
  private arm(at: number, fire: () => void): void {
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        if (Date.now() >= at) fire();
        else this.arm(at, fire);
      },
      Math.min(Math.max(0, at - Date.now()), 2_000_000_000),
    );
    this.timers.add(timer);
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.oneTime.clear();
    clearTimeout(this.recurringTimer);
  }
}

/** `cron(m h dom mon dow year)` back to 5 fields: `?` is `*`, AWS weekday numbers 1-7 (SUN=1) become 0-6. */
function toFiveFields(input: Scheduler.CreateScheduleCommandInput): string {
  const m = /^cron\((.+)\)$/.exec(input.ScheduleExpression ?? "");
  const fields = m?.[1]?.trim().split(/\s+/);
  if (!fields || fields.length !== 6) throw new Error(`unsupported schedule ${input.ScheduleExpression}`);
  const [minute, hour, dom, month, dow] = fields.map((f) => (f === "?" ? "*" : f)) as string[];
  const weekday = (dow as string).replace(/(?<!\/)\d+/g, (n) => String(Number(n) - 1));
  return `${minute} ${hour} ${dom} ${month} ${weekday}`;
}

const arnOf = (key: string): string => `arn:aws:scheduler:us-east-1:000000000000:schedule/${key}`;
const conflict = (key: string) =>
  new Scheduler.ConflictException({
    message: `schedule ${key} already exists`,
    Message: `schedule ${key} already exists`,
    $metadata: {},
  });
const notFound = (key: string) =>
  new Scheduler.ResourceNotFoundException({
    message: `schedule ${key} does not exist`,
    Message: `schedule ${key} does not exist`,
    $metadata: {},
  });
