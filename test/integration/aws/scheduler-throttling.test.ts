// EventBridge Scheduler at its quotas: a CreateSchedule that is throttled (after the client's retries)
// must neither fail the dispatch — a publish that could be accepted would answer 5xx — nor lose the
// wait. The real SqsDispatcher and delivery-batch step run against fauxqs; Scheduler's API has no
// emulator, so its throttling is injected at the client (a stand-in that throws as the SDK would).
import { CreateQueueCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { SchedulerServiceException, type SchedulerClient } from "@aws-sdk/client-scheduler";
import { describe, expect, it } from "vitest";
import { parseJobBody } from "../../../lambdas/adapters/aws/sqs-dispatcher.ts";
import { processDeliveryBatch } from "../../../lambdas/adapters/aws/sqs-delivery.ts";
import { EmulatedScheduler } from "../../../emulation/emulated-scheduler.ts";
import type { DeliveryJob } from "../../../lambdas/ports.ts";
import { dispatcherFor, uniqueName, useAwsEmulators } from "../../support/aws-emulators.ts";

const emulators = useAwsEmulators();

const throttled = (): Error =>
  new SchedulerServiceException({
    name: "ThrottlingException",
    $fault: "client",
    $metadata: { httpStatusCode: 429 },
    message: "Rate exceeded",
  });

describe("SqsDispatcher when Scheduler is throttled", () => {
  it("sends a long wait into SQS for 15 minutes with its due time, counts the fallback, and loses nothing", async () => {
    const { sqs } = await emulators();
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: uniqueName("throttled") })))
      .QueueUrl as string;
    let clock = Date.parse("2026-12-02T10:00:00Z");
    const real = new EmulatedScheduler(sqs, () => queueUrl);
    let throttle = true;
    const calls: string[] = [];
    const scheduler: Pick<SchedulerClient, "send"> = {
      send: (async (command: { constructor: { name: string } }) => {
        calls.push(command.constructor.name);
        if (throttle) throw throttled();
        return real.send(command as never);
      }) as SchedulerClient["send"],
    };
    const fallbacks: unknown[] = [];
    const dispatcher = dispatcherFor(sqs, queueUrl, {
      scheduler,
      now: () => clock,
      onScheduleFallback: (error) => fallbacks.push(error),
    });
    const job: DeliveryJob = { messageId: "msg_throttled", retried: 0 };
    const dueAt = clock + 2 * 3_600_000;

    await expect(dispatcher.dispatch(job, dueAt)).resolves.toBeUndefined();
    expect(calls).toEqual(["CreateScheduleCommand"]);
    expect(fallbacks).toHaveLength(1);
    expect((fallbacks[0] as Error).name).toBe("ThrottlingException");

    // The job is in SQS, held back for the 15 minutes SQS allows, and says when it is due.
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 0, AttributeNames: ["All"] }),
    );
    expect(Messages).toHaveLength(0); // delayed
    const held = await waitForDelayed(sqs, queueUrl);
    expect(held).toBe(1);

    // When it arrives (early), the delivery step dispatches it again for the rest: Scheduler is tried
    // again, and now that it answers, the rest of the wait is its schedule.
    throttle = false;
    clock += 15 * 60_000;
    const delivered: DeliveryJob[] = [];
    const record = {
      messageId: "1",
      body: JSON.stringify({ m: job.messageId, r: 0, d: dueAt }),
      attributes: { ApproximateReceiveCount: "1", SentTimestamp: String(clock) },
    };
    const failures = await processDeliveryBatch([record as never], {
      dispatcher,
      deliver: async (j) => void delivered.push(j),
      now: () => clock,
    });
    expect(failures).toEqual([]);
    expect(delivered).toEqual([]); // not due yet
    expect(calls).toEqual(["CreateScheduleCommand", "CreateScheduleCommand"]);
    expect(fallbacks).toHaveLength(1);
    expect(parseJobBody(record.body).d).toBe(dueAt);
  });
});

/** Messages of the queue that are delayed (ApproximateNumberOfMessagesDelayed), polled briefly. */
async function waitForDelayed(sqs: import("@aws-sdk/client-sqs").SQSClient, queueUrl: string): Promise<number> {
  const { GetQueueAttributesCommand } = await import("@aws-sdk/client-sqs");
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["ApproximateNumberOfMessagesDelayed"] }),
  );
  return Number(attributes.Attributes?.ApproximateNumberOfMessagesDelayed ?? 0);
}

describe("SqsDispatcher when Scheduler refuses for good", () => {
  it("fails the dispatch (a misconfiguration no SQS hop would cure), and counts no fallback", async () => {
    const { sqs } = await emulators();
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: uniqueName("denied") }))).QueueUrl as string;
    const denied = new SchedulerServiceException({
      name: "AccessDeniedException",
      $fault: "client",
      $metadata: { httpStatusCode: 403 },
      message: "not authorized to perform scheduler:CreateSchedule",
    });
    const fallbacks: unknown[] = [];
    const dispatcher = dispatcherFor(sqs, queueUrl, {
      scheduler: { send: (async () => Promise.reject(denied)) as SchedulerClient["send"] },
      onScheduleFallback: (error) => fallbacks.push(error),
    });
    await expect(dispatcher.dispatch({ messageId: "msg_denied", retried: 0 }, Date.now() + 3_600_000)).rejects.toThrow(
      /not authorized/,
    );
    expect(fallbacks).toEqual([]);
  });
});

describe("a publish while Scheduler is throttled [aws-local]", () => {
  it("is accepted (200), readable, and its wait is held in SQS", async () => {
    const { startAwsLocal } = await import("../../../emulation/emulated-aws-server.ts");
    const { SQSClient } = await import("@aws-sdk/client-sqs");
    const { EMULATOR_CREDENTIALS, EMULATOR_REGION } = await import("../../../emulation/emulators.ts");
    const { tempDir } = await import("../../support/herald.ts");
    const herald = await startAwsLocal({
      port: 0,
      dataDir: tempDir(),
      // Fault injection at the Scheduler stand-in's client: every one-time schedule is refused.
      onStandInRequest: (service, operation) => {
        if (service === "Scheduler" && operation === "CreateSchedule") throw throttled();
      },
    });
    const sqs = new SQSClient({
      endpoint: herald.emulators.sqsEndpoint,
      region: EMULATOR_REGION,
      credentials: EMULATOR_CREDENTIALS,
    });
    try {
      const before = await waitForDelayed(sqs, herald.emulators.queueUrl);
      const res = await fetch(`${herald.url}/v2/publish/http://127.0.0.1:9/later`, {
        method: "POST",
        headers: { Authorization: `Bearer ${herald.token}`, "Upstash-Delay": "2h" },
        body: "later",
      });
      expect(res.status).toBe(200);
      const { messageId } = (await res.json()) as { messageId: string };
      const read = await fetch(`${herald.url}/v2/messages/${messageId}`, {
        headers: { Authorization: `Bearer ${herald.token}` },
      });
      expect(read.status).toBe(200);
      expect(await waitForDelayed(sqs, herald.emulators.queueUrl)).toBe(before + 1);
    } finally {
      sqs.destroy();
      await herald.close();
    }
  }, 60_000);
});
