import { CreateQueueCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SchedulerCronTrigger, triggerName } from "../../../lambdas/adapters/aws/scheduler-cron-trigger.ts";
import { processDeliveryBatch } from "../../../lambdas/adapters/aws/sqs-delivery.ts";
import { nextRunAfter, parseCron } from "../../../lambdas/core/cron.ts";
import { EmulatedScheduler } from "../../../emulation/emulated-scheduler.ts";
import { uniqueName, useAwsEmulators } from "../../support/aws-emulators.ts";
import { tempDir } from "../../support/herald.ts";

const emulators = useAwsEmulators();

describe("SchedulerCronTrigger (on the EventBridge Scheduler stand-in)", () => {
  it("keeps one recurring schedule per Herald schedule, in its time zone; firings carry the schedule id and minute", async () => {
    const { sqs } = await emulators();
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: uniqueName("firings") }))).QueueUrl as string;
    const file = join(tempDir(), "schedules.json");
    const scheduler = new EmulatedScheduler(sqs, () => queueUrl, file);
    const trigger = new SchedulerCronTrigger({
      scheduler,
      scheduleGroup: "herald",
      queueArn: "arn:aws:sqs:us-east-1:000000000000:firings",
      schedulerRoleArn: "arn:aws:iam::000000000000:role/herald-scheduler",
      scheduleDeadLetterArn: "arn:aws:sqs:us-east-1:000000000000:poison",
    });

    await trigger.upsert("weekdays", "CRON_TZ=Europe/Berlin 0 9 * * 1-5", false);
    await trigger.upsert("weekdays", "CRON_TZ=Europe/Berlin 0 9 * * 1-5", true); // pause: an update
    await trigger.upsert("both-days", "0 0 13 * 5", false);
    expect(scheduler.created.map((c) => [c.Name, c.ScheduleExpression, c.ScheduleExpressionTimezone])).toEqual([
      ["cron-weekdays", "cron(0 9 ? * MON-FRI *)", "Europe/Berlin"],
      ["cron-both-days", "cron(0 0 * * ? *)", "UTC"], // a superset: core filters each firing
    ]);
    expect(scheduler.created[0]).toMatchObject({
      GroupName: "herald",
      FlexibleTimeWindow: { Mode: "OFF" },
      Target: { Input: '{"s":"weekdays","t":"<aws.scheduler.scheduled-time>"}' },
    });

    // The stand-in keeps recurring schedules across a restart, as the real service does.
    const restarted = new EmulatedScheduler(sqs, () => queueUrl, file);
    const due = nextRunAfter(parseCron("0 0 * * *"), Date.now()) as number;
    await restarted.tick(due + 1000);
    restarted.close();
    scheduler.close();
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    expect(Messages.map((m) => JSON.parse(m.Body as string))).toEqual([
      { s: "both-days", t: new Date(due).toISOString().replace(".000Z", "Z") },
    ]); // the paused one does not fire

    const fired: [string, number][] = [];
    await processDeliveryBatch(
      Messages.map((m) => ({ messageId: m.MessageId as string, body: m.Body as string })),
      {
        dispatcher: { dispatch: async () => undefined },
        deliver: async () => undefined,
        fire: async (id, at) => void fired.push([id, at]),
        now: () => Date.now(),
      },
    );
    expect(fired).toEqual([["both-days", due]]);

    await trigger.remove("both-days");
    await trigger.remove("both-days"); // already gone: fine
    expect(triggerName("x".repeat(128)).length).toBeLessThanOrEqual(64);
  });
});
