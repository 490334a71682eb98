import type { Duration } from "aws-cdk-lib";
import type { Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { heraldFunction } from "./functions.ts";

export interface HeraldDeliveryProps {
  queue: IQueue;
  /** The FIFO queue of queued messages' first jobs (one message group per lane). */
  orderedQueue: IQueue;
  timeout: Duration;
  maxConcurrency: number;
  environment: Record<string, string>;
  logRetention: RetentionDays;
}

/**
 * The delivery Lambda on the delivery queue and the ordered (FIFO) queue: batches of up to 10 jobs (delivery attempts and schedule
 * firings) that run concurrently; jobs that fail inside Herald are reported as batch item failures (the rest of the batch is not
 * retried), and `maxConcurrency` caps how many invocations run at once.
 */
export class HeraldDelivery extends Construct {
  readonly function: LambdaFunction;

  constructor(scope: Construct, id: string, props: HeraldDeliveryProps) {
    super(scope, id);
    this.function = heraldFunction(this, "Handler", {
      handlerFile: "deliver.ts",
      description: "Herald delivery: one attempt per SQS job",
      timeout: props.timeout,
      environment: props.environment,
      logRetention: props.logRetention,
    });
    // On the FIFO queue, Lambda hands a group's messages over in order and holds the group while a batch
    // with one of them runs; the handler runs a group's records one after another and fails the rest of a
    // group after a failure. One record per batch there: several attempts of one lane in a row, each up
    // to the longest attempt, could outlast the function's timeout (the longest attempt plus a minute),
    // and a timed-out batch comes back only after the visibility timeout, counting toward the redrive.
    for (const [queue, batchSize] of [
      [props.queue, 10],
      [props.orderedQueue, 1],
    ] as const) {
      this.function.addEventSource(
        new SqsEventSource(queue, { batchSize, reportBatchItemFailures: true, maxConcurrency: props.maxConcurrency }),
      );
    }
  }
}
