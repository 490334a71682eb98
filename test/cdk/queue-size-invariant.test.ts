// The largest delivery job any path can send fits the delivery queue's MaximumMessageSize, checked on the
// synthesized template and by the real SqsDispatcher against fauxqs given the template's attribute (fauxqs
// defaults to 1 MiB: without the attribute the emulation passed jobs that AWS refused).
import { CreateQueueCommand } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { MAX_CARRIED_BODY_BYTES, MAX_CARRIED_HEADER_BYTES, travelsWithJob } from "../../lambdas/core/accept.ts";
import { DEFAULT_CONFIG } from "../../lambdas/core/config.ts";
import type { HeraldContext } from "../../lambdas/core/context.ts";
import type { Message } from "../../lambdas/core/message.ts";
import { dispatcherFor, uniqueName, useAwsEmulators } from "../support/aws-emulators.ts";
import { makeMessage } from "../support/message-fixture.ts";
import { synthHerald } from "./synth.ts";

const emulators = useAwsEmulators();

function deliveryQueueSize(): number {
  const { template } = synthHerald();
  const queues = Object.values(template.findResources("AWS::SQS::Queue")) as {
    Properties: { MaximumMessageSize?: number; RedrivePolicy?: unknown; FifoQueue?: boolean };
  }[];
  const deliveries = queues.find((q) => q.Properties.RedrivePolicy !== undefined && q.Properties.FifoQueue !== true);
  return deliveries?.Properties.MaximumMessageSize ?? 262_144;
}

/** The largest message the lean mode still carries: body and headers at their bounds, worst to escape. */
function largestCarried(bodyBytes: number): Message {
  const value = "\u00ff".repeat(1000); // Latin-1: each character is escaped in the job's JSON
  const header: Record<string, string[]> = {};
  for (let i = 0; i < MAX_CARRIED_HEADER_BYTES / 1000 - 1; i++) header[`X-H${i}`] = [value];
  return makeMessage({ body: new Uint8Array(bodyBytes).fill(0xff), header });
}

describe("the delivery queue's maximum message size", () => {
  const lean = { dispatcher: { carriesMessages: true }, config: { ...DEFAULT_CONFIG, messageRecords: "lean" } };

  it("takes the largest job the lean mode carries (12, 16 and 32 KiB bodies, headers at their bound)", async () => {
    const maximum = deliveryQueueSize();
    const { sqs } = await emulators();
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({
        QueueName: uniqueName("size"),
        Attributes: { MaximumMessageSize: String(maximum) },
      }),
    );
    const queueUrl = QueueUrl as string;
    const dispatcher = dispatcherFor(sqs, queueUrl);
    for (const kib of [12, 16, 32]) {
      const message = largestCarried(kib * 1024);
      expect(travelsWithJob(lean as unknown as HeraldContext, message)).toBe(true);
      await expect(dispatcher.dispatch({ messageId: message.messageId, retried: 0, message }, 0)).resolves.toBe(
        undefined,
      );
    }
  });

  it("is never carried past its bounds: a larger body or more headers get a record instead", () => {
    const ctx = lean as unknown as HeraldContext;
    expect(travelsWithJob(ctx, largestCarried(MAX_CARRIED_BODY_BYTES + 1))).toBe(false);
    const headers = largestCarried(1);
    headers.header["X-More"] = ["x".repeat(2000)];
    expect(travelsWithJob(ctx, headers)).toBe(false);
  });
});
