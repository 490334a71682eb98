import { CreateScheduleCommand } from "@aws-sdk/client-scheduler";
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { EmulatedScheduler } from "../../../emulation/emulated-scheduler.ts";

/** An SQS client that only records what it is asked to send. */
function recordingSqs() {
  const sent: { queueUrl: string | undefined; body: string | undefined }[] = [];
  const sqs = {
    send: async (command: unknown) => {
      if (command instanceof SendMessageCommand)
        sent.push({ queueUrl: command.input.QueueUrl, body: command.input.MessageBody });
      return {};
    },
  } as unknown as SQSClient;
  return { sqs, sent };
}

const oneTime = (name: string, at: string, input: string) =>
  new CreateScheduleCommand({
    Name: name,
    GroupName: "herald",
    ScheduleExpression: `at(${at})`,
    ScheduleExpressionTimezone: "UTC",
    FlexibleTimeWindow: { Mode: "OFF" },
    ActionAfterCompletion: "DELETE",
    Target: { Arn: "arn:aws:sqs:us-east-1:000000000000:deliveries", RoleArn: "arn:role", Input: input },
  });

describe("EmulatedScheduler", () => {
  it("fires a one-time schedule when tick reaches its time, once, and not before", async () => {
    const { sqs, sent } = recordingSqs();
    const scheduler = new EmulatedScheduler(sqs, () => "http://queue");
    try {
      await scheduler.send(oneTime("later", "2099-01-01T10:00:00", '{"m":"msg_1"}'));
      await scheduler.tick(Date.parse("2099-01-01T09:59:59Z"));
      expect(sent).toEqual([]);
      await scheduler.tick(Date.parse("2099-01-01T10:00:00Z"));
      await scheduler.tick(Date.parse("2099-01-01T11:00:00Z"));
      expect(sent).toEqual([{ queueUrl: "http://queue", body: '{"m":"msg_1"}' }]);
    } finally {
      scheduler.close();
    }
  });

  it("fires one kind only when asked: the recurring ones, or the one-time ones", async () => {
    const { sqs, sent } = recordingSqs();
    const scheduler = new EmulatedScheduler(sqs, () => "http://queue");
    try {
      await scheduler.send(oneTime("wait", "2099-01-01T10:00:00", "wait"));
      await scheduler.send(
        new CreateScheduleCommand({
          Name: "sweep",
          GroupName: "herald",
          ScheduleExpression: "cron(0/5 * * * ? *)",
          ScheduleExpressionTimezone: "UTC",
          FlexibleTimeWindow: { Mode: "OFF" },
          Target: { Arn: "arn:aws:sqs:us-east-1:000000000000:deliveries", RoleArn: "arn:role", Input: "sweep" },
        }),
      );
      const due = Date.parse("2099-01-01T10:00:00Z");
      await scheduler.tick(due, "recurring");
      expect(sent.map((s) => s.body)).toEqual(["sweep"]);
      await scheduler.tick(due, "oneTime");
      expect(sent.map((s) => s.body)).toEqual(["sweep", "wait"]);
    } finally {
      scheduler.close();
    }
  });
});
