// The delivery Lambda: SQS batches of delivery jobs -> one attempt each, concurrently.
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import middy from "@middy/core";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { processDeliveryBatch } from "../adapters/aws/sqs-delivery.ts";
import { deliverMessage, type DeliveryOutcome } from "../core/deliver.ts";
import { fireSchedule } from "../core/schedules.ts";
import { awsContext } from "./aws-context.ts";
import { flushMetrics, logError, logger, metrics } from "./observability.ts";

const METRIC_OF: Partial<Record<DeliveryOutcome, string>> = {
  delivered: "Delivered",
  retry: "Retried",
  failed: "Failed",
  canceled: "Canceled",
};

async function handleDeliveries(event: SQSEvent): Promise<SQSBatchResponse> {
  const { context, dispatcher } = awsContext();
  const counts = new Map<string, number>();
  const batchItemFailures = await processDeliveryBatch(event.Records, {
    dispatcher,
    now: () => context.clock.now(),
    onError: logError,
    observeLag: (lagMs) => metrics.addMetric("DeliveryLag", MetricUnit.Milliseconds, lagMs),
    fire: async (scheduleId, firedAt) => {
      const messageIds = await fireSchedule(context, scheduleId, firedAt);
      if (messageIds.length > 0) counts.set("ScheduleFired", (counts.get("ScheduleFired") ?? 0) + 1);
    },
    deliver: async (job) => {
      const outcome = await deliverMessage(context, job);
      const metric = METRIC_OF[outcome];
      if (metric) counts.set(metric, (counts.get(metric) ?? 0) + 1);
    },
  });
  metrics.addMetric("Jobs", MetricUnit.Count, event.Records.length);
  for (const [name, count] of counts) metrics.addMetric(name, MetricUnit.Count, count);
  return { batchItemFailures };
}

export const handler = middy(handleDeliveries).use(injectLambdaContext(logger)).use(flushMetrics());
