// The sweep's schedule and its decoding belong together: what the schedule puts on the delivery queue is
// what the delivery handler runs the sweep on (lambdas/adapters/aws/sweep-schedule.ts, sqs-delivery.ts).
import { CreateScheduleCommand } from "@aws-sdk/client-scheduler";
import type { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { processDeliveryBatch } from "../../../../lambdas/adapters/aws/sqs-delivery.ts";
import { sweepScheduleInput } from "../../../../lambdas/adapters/aws/sweep-schedule.ts";
import { EmulatedScheduler } from "../../../../emulation/emulated-scheduler.ts";
import type { DeliveryJob } from "../../../../lambdas/ports.ts";

const input = sweepScheduleInput({
  scheduleGroup: "herald",
  queueArn: "arn:aws:sqs:us-east-1:000000000000:herald-deliveries",
  schedulerRoleArn: "arn:aws:iam::000000000000:role/herald-scheduler",
  scheduleDeadLetterArn: "arn:aws:sqs:us-east-1:000000000000:herald-poison",
});

describe("the sweep's schedule", () => {
  it("fires every 5 minutes a body the delivery handler runs the sweep on, not a delivery", async () => {
    const sent: string[] = [];
    const sqs = { send: async (command: SendMessageCommand) => void sent.push(command.input.MessageBody as string) };
    const scheduler = new EmulatedScheduler(sqs as unknown as SQSClient, () => "queue-url");
    try {
      await scheduler.send(new CreateScheduleCommand(input));
      const start = Date.UTC(2030, 0, 1, 12, 0, 30);
      await scheduler.tick(start); // created before `start`: its first firing is due after it
      const firings = sent.length;
      await scheduler.tick(start + 5 * 60_000);
      await scheduler.tick(start + 10 * 60_000);
      expect(sent.length - firings).toBe(2);
      expect(new Set(sent)).toEqual(new Set(['{"sweep":1}']));

      let sweeps = 0;
      const delivered: DeliveryJob[] = [];
      const failures = await processDeliveryBatch(
        sent.map((body, i) => ({ messageId: `r${i}`, body })),
        {
          dispatcher: { dispatch: async () => undefined },
          deliver: async (job) => void delivered.push(job),
          sweep: async () => void sweeps++,
          now: () => start,
        },
      );
      expect(failures).toEqual([]);
      expect(sweeps).toBe(sent.length);
      expect(delivered).toEqual([]);
    } finally {
      scheduler.close();
    }
  });

  it("is a failed record (retried, then poison) on a worker that cannot sweep", async () => {
    const failures = await processDeliveryBatch([{ messageId: "r0", body: '{"sweep":1}' }], {
      dispatcher: { dispatch: async () => undefined },
      deliver: async () => undefined,
      now: () => 0,
    });
    expect(failures).toEqual([{ itemIdentifier: "r0" }]);
  });
});
