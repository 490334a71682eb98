// Emulated SQS gives FIFO receives as Amazon SQS does (emulation/fauxqs-fifo-receive.ts): as many messages
// of a group as a receive asks for, in order; none of a group while another receive holds one of it; and a
// group's messages made visible again come back in their order.
import {
  ChangeMessageVisibilityBatchCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { EMULATOR_CREDENTIALS, EMULATOR_REGION, startSqsAndS3, type Emulator } from "../../../emulation/emulators.ts";

let emulator: Emulator;
let sqs: SQSClient;
beforeAll(async () => {
  emulator = await startSqsAndS3();
  sqs = new SQSClient({ endpoint: emulator.endpoint, region: EMULATOR_REGION, credentials: EMULATOR_CREDENTIALS });
});
afterAll(() => emulator.stop());

const receive = async (queueUrl: string, max: number) =>
  (await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: max, WaitTimeSeconds: 0 })))
    .Messages ?? [];

it("receives a group's messages together and in order, and gives released ones back in order", async () => {
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({
      QueueName: "receive-test.fifo",
      Attributes: { FifoQueue: "true", VisibilityTimeout: "600" },
    }),
  );
  const queueUrl = QueueUrl as string;
  const entries = (group: string, from: number) =>
    Array.from({ length: 6 }, (_, i) => ({
      Id: String(i),
      MessageBody: `${group}${from + i}`,
      MessageGroupId: group,
      MessageDeduplicationId: `${group}${from + i}`,
    }));
  await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries("a", 0) }));
  await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries("b", 0) }));

  const first = await receive(queueUrl, 4);
  expect(first.map((m) => m.Body)).toEqual(["a0", "a1", "a2", "a3"]);
  // Group a is held by the first receive: the next gets only b's.
  const second = await receive(queueUrl, 10);
  expect(second.map((m) => m.Body)).toEqual(["b0", "b1", "b2", "b3", "b4", "b5"]);
  expect(await receive(queueUrl, 10)).toEqual([]);

  // a0 is done; a1–a3 go back at once (as the delivery Lambda releases what it has no time for).
  await sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: [{ Id: "0", ReceiptHandle: first[0]?.ReceiptHandle }],
    }),
  );
  await sqs.send(
    new ChangeMessageVisibilityBatchCommand({
      QueueUrl: queueUrl,
      Entries: first.slice(1).map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 })),
    }),
  );
  const again = await receive(queueUrl, 10);
  expect(again.map((m) => m.Body)).toEqual(["a1", "a2", "a3", "a4", "a5"]);
});
