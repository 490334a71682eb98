import type { Duration } from "aws-cdk-lib";
import type { Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { heraldFunction, type HeraldLogLevel } from "./functions.ts";

/** Jobs a delivery invocation takes at once from either queue; they run concurrently. */
export const DELIVERY_BATCH_SIZE = 10;

export interface HeraldDeliveryProps {
  queue: IQueue;
  /** The FIFO queue of queued messages' and flow-control keys' first jobs (one message group per lane). */
  orderedQueue: IQueue;
  timeout: Duration;
  maxConcurrency: number;
  environment: Record<string, string>;
  logRetention: RetentionDays;
  logLevel: HeraldLogLevel;
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
      logLevel: props.logLevel,
    });
    // On the FIFO queue, Lambda hands a group's messages over in order and holds the group while a batch
    // with one of them runs; the handler runs a queue lane's records one after another and fails the rest
    // of the group after a failure (a flow-control key's lane's records run side by side). Batches of 10
    // there too (a receive, a delete and an invocation per ten jobs of a busy queue instead of per job): a
    // record after the first of its group starts only while the invocation has time for its longest attempt
    // (the function's timeout is that plus a minute); else the rest of the group is handed, in order, to its
    // lane's entries in the table and done here (sqs-delivery.ts, docs/architecture.md §14).
    for (const queue of [props.queue, props.orderedQueue]) {
      this.function.addEventSource(
        new SqsEventSource(queue, {
          batchSize: DELIVERY_BATCH_SIZE,
          reportBatchItemFailures: true,
          maxConcurrency: props.maxConcurrency,
        }),
      );
    }
  }
}
