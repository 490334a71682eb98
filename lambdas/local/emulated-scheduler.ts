import { CreateScheduleCommand, type SchedulerClient } from "@aws-sdk/client-scheduler";
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";

/**
 * EventBridge Scheduler has no emulator. In emulated AWS this stands in for its client at the SDK
 * boundary, for the one call Herald makes: a one-time `at()` schedule whose target is an SQS queue.
 * It sends the target input to that queue at the given time (in memory: schedules do not survive a
 * restart of the emulated process — the real service keeps them).
 */
export class EmulatedScheduler implements Pick<SchedulerClient, "send"> {
  private readonly timers = new Set<NodeJS.Timeout>();
  readonly created: CreateScheduleCommand["input"][] = [];
  private readonly sqs: SQSClient;
  private readonly queueUrlOf: (queueArn: string) => string;

  constructor(sqs: SQSClient, queueUrlOf: (queueArn: string) => string) {
    this.sqs = sqs;
    this.queueUrlOf = queueUrlOf;
  }

  send = (async (command: unknown) => {
    if (!(command instanceof CreateScheduleCommand)) throw new Error("EmulatedScheduler only creates schedules");
    const input = command.input;
    this.created.push(input);
    const at = /^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$/.exec(input.ScheduleExpression ?? "");
    if (!at || !input.Target?.Arn) throw new Error(`unsupported schedule ${input.ScheduleExpression}`);
    const fireAt = Date.parse(`${at[1]}Z`);
    const fire = (): void => {
      void this.sqs.send(
        new SendMessageCommand({
          QueueUrl: this.queueUrlOf(input.Target?.Arn as string),
          MessageBody: input.Target?.Input ?? "",
        }),
      );
    };
    this.arm(fireAt, fire);
    return { ScheduleArn: `arn:aws:scheduler:us-east-1:000000000000:schedule/${input.GroupName}/${input.Name}` };
  }) as SchedulerClient["send"];

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
  }
}
