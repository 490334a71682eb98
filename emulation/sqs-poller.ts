import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message as SqsMessage,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSBatchItemFailure, SQSRecord } from "aws-lambda";

export type BatchHandler = (records: SQSRecord[]) => Promise<SQSBatchItemFailure[]>;

/**
 * Stands in for Lambda's SQS event source mapping in emulated AWS: long-polls batches of up to
 * `batchSize`, hands them to the handler as SQS records, deletes what succeeded and leaves failures to
 * become visible again. With `reportBatchItemFailures` (the mapping's FunctionResponseTypes) the
 * handler's batchItemFailures are the failures; without it, as on AWS, the response is ignored and only
 * a handler that throws fails its batch (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
 * `concurrency` pollers run side by side (the mapping's maximum concurrency).
 */
export class SqsPoller {
  private running = false;
  private readonly loops: Promise<void>[] = [];
  private readonly sqs: SQSClient;
  private readonly queueUrl: string;
  private readonly handler: BatchHandler;
  private readonly concurrency: number;
  private readonly batchSize: number;
  private readonly reportBatchItemFailures: boolean;

  constructor(options: {
    sqs: SQSClient;
    queueUrl: string;
    handler: BatchHandler;
    concurrency?: number;
    batchSize?: number;
    reportBatchItemFailures?: boolean;
  }) {
    this.sqs = options.sqs;
    this.queueUrl = options.queueUrl;
    this.handler = options.handler;
    this.concurrency = options.concurrency ?? 4;
    // ReceiveMessage takes at most 10; larger batches (with a batching window) are not emulated.
    this.batchSize = Math.min(10, options.batchSize ?? 10);
    this.reportBatchItemFailures = options.reportBatchItemFailures ?? true;
  }

  start(): void {
    this.running = true;
    for (let i = 0; i < this.concurrency; i++) this.loops.push(this.loop());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops.splice(0));
  }

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        const { Messages = [] } = await this.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: this.queueUrl,
            MaxNumberOfMessages: this.batchSize,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ["All"],
          }),
        );
        if (Messages.length === 0) continue;
        const records = Messages.map((m) => toRecord(m, this.queueUrl));
        let failures: SQSBatchItemFailure[];
        try {
          failures = await this.handler(records);
          if (!this.reportBatchItemFailures) failures = [];
        } catch {
          failures = records.map((r) => ({ itemIdentifier: r.messageId })); // the whole invocation failed
        }
        const failed = new Set(failures.map((f) => f.itemIdentifier));
        const done = Messages.filter((m) => !failed.has(m.MessageId as string));
        if (done.length > 0) {
          await this.sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: this.queueUrl,
              Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle as string })),
            }),
          );
        }
      } catch (error) {
        if (this.running) {
          console.error("SQS poller error", error);
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    }
  }
}

function toRecord(message: SqsMessage, queueUrl: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId as string,
    receiptHandle: message.ReceiptHandle as string,
    body: message.Body ?? "",
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? "1",
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? "local",
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      // A FIFO queue's records carry these (the Lambda SQS event's record attributes).
      ...(attributes.MessageGroupId ? { MessageGroupId: attributes.MessageGroupId } : {}),
      ...(attributes.MessageDeduplicationId ? { MessageDeduplicationId: attributes.MessageDeduplicationId } : {}),
      ...(attributes.SequenceNumber ? { SequenceNumber: attributes.SequenceNumber } : {}),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:${queueUrl.split("/").pop()}`,
    awsRegion: "us-east-1",
  };
}
