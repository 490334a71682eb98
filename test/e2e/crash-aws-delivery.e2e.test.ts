// Crash safety of the delivery Lambda on emulated AWS (issue 6): invocations that throw partway through
// their batch leave it to SQS redelivery; a job that crashes the handler every time ends in the poison
// queue after the redrive policy's 5 receives, where the CDK alarm's metric (ApproximateNumberOfMessagesVisible,
// lib/observability/metrics.ts) sees it — and the jobs batched with it are delivered all the same.
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFaultyAws, type FaultyAws } from "../support/aws-faults.ts";
import { tally } from "../support/crash.ts";
import { eventually } from "../support/herald.ts";
import { deliversThroughThrows, throwMidBatch } from "../support/mid-batch-throws.ts";
import { Sink } from "../support/sink.ts";

let aws: FaultyAws;
const sink = Sink.forSuite();

beforeAll(async () => {
  aws = await startFaultyAws({ token: "crash-aws-delivery", visibilityTimeout: "2s" });
}, 60_000);
afterAll(async () => {
  await aws.close();
});

describe("the delivery handler throws mid-batch [aws-local]", () => {
  it("delivers every accepted message, light records and stored, after SQS redelivers the failed batches", async () => {
    await deliversThroughThrows(aws, sink, "aws throw");
  }, 90_000);
});

describe("flow-controlled messages through the key's FIFO lanes, the handler throwing mid-batch [aws-local]", () => {
  it("delivers every accepted message, and the key ends with no slot held and no one waiting", async () => {
    const throws = throwMidBatch(aws, "aws throw lanes", 8);
    try {
      const key = "crash-lanes";
      const accepted = await Promise.all(
        Array.from({ length: 60 }, async (_, n) => {
          const { messageId } = await aws.client.publish({
            url: `${sink.url}/lanes`,
            body: `l${n}`,
            flowControl: { key, parallelism: 3 },
          });
          return messageId;
        }),
      );
      await eventually(() => (tally(sink.at("/lanes"), accepted).missing.length === 0 ? true : undefined), 60_000);
      const result = tally(sink.at("/lanes"), accepted);
      console.log(
        `[aws throw lanes] ${accepted.length} accepted, ${throws.thrown} of ${throws.invocations} invocations threw; ` +
          `${result.duplicates} duplicate deliveries`,
      );
      expect(result.missing).toEqual([]);
      expect(throws.thrown).toBeGreaterThan(0);
      const settled = await eventually(async () => {
        const state = await aws.client.flowControl.get(key);
        return state.parallelismCount === 0 && state.waitListSize === 0 ? state : undefined;
      }, 30_000);
      expect(settled).toMatchObject({ parallelismCount: 0, waitListSize: 0 });
    } finally {
      aws.aroundDeliver = undefined;
    }
  }, 120_000);
});

describe("a job that always crashes the delivery handler [aws-local]", () => {
  it("lands in the poison queue after 5 receives, the alarm's metric shows it, and its batch is delivered", async () => {
    const batches: string[][] = [];
    aws.aroundDeliver = (records, invoke) => {
      batches.push(records.map((r) => r.body));
      return invoke();
    };
    try {
      await aws.herald.deliveries.pause(); // so that all of them arrive in one batch
      const poison = await aws.client.publish({ url: `${sink.url}/poison/bad`, body: "poison", delay: 1 });
      aws.crashJobsMentioning(poison.messageId); // every read of its record throws
      const others = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          aws.client.publish({ url: `${sink.url}/poison/ok`, body: `ok ${i}`, ...(i % 2 ? { delay: 1 } : {}) }),
        ),
      );
      // A job no Herald version wrote (a poison message of another kind).
      await aws.sqs.send(
        new SendMessageCommand({ QueueUrl: aws.herald.emulators.queueUrl, MessageBody: '{"not":"a job"}' }),
      );
      // All ten in the queue and the delayed ones' second over (the emulator counts them visible only when
      // received), so that one receive takes them together.
      const allSent = Date.now();
      await eventually(async () => {
        const { Attributes = {} } = await aws.sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: aws.herald.emulators.queueUrl,
            AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"],
          }),
        );
        const queued =
          Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0);
        return queued >= 10 && Date.now() >= allSent + 1000 ? true : undefined;
      });
      aws.herald.deliveries.resume();

      const ids = others.map((o) => o.messageId);
      await eventually(() => (tally(sink.at("/poison/ok"), ids).missing.length === 0 ? true : undefined), 20_000);
      const first = batches.find((b) => b.some((body) => body.includes(poison.messageId)));
      expect(first?.length).toBeGreaterThan(1); // it shared its first batch with others

      const { QueueUrl: poisonQueue } = await aws.sqs.send(
        new GetQueueUrlCommand({ QueueName: "herald-deliveries-poison" }),
      );
      // The queue attribute behind CloudWatch's ApproximateNumberOfMessagesVisible (the alarm's metric).
      const visible = await eventually(async () => {
        const { Attributes } = await aws.sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: poisonQueue,
            AttributeNames: ["ApproximateNumberOfMessages"],
          }),
        );
        const count = Number(Attributes?.ApproximateNumberOfMessages);
        return count >= 2 ? count : undefined;
      }, 45_000);
      console.log(`[aws poison] poison queue: ${visible} messages visible (the alarm fires above 0)`);
      const { Messages = [] } = await aws.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: poisonQueue,
          MaxNumberOfMessages: 10,
          MessageSystemAttributeNames: ["All"],
        }),
      );
      const bodies = Messages.map((m) => m.Body ?? "");
      expect(bodies.some((b) => b.includes(poison.messageId))).toBe(true);
      expect(bodies).toContain('{"not":"a job"}');
      for (const m of Messages) expect(Number(m.Attributes?.ApproximateReceiveCount)).toBeGreaterThanOrEqual(5);
      expect(sink.at("/poison/bad")).toHaveLength(0);
      expect(tally(sink.at("/poison/ok"), ids).missing).toEqual([]);
    } finally {
      aws.aroundDeliver = undefined;
    }
  }, 90_000);
});
