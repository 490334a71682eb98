// The delivery Lambda: SQS batches of delivery jobs -> one attempt each, concurrently.
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { EndsNotRecorded } from "../adapters/aws/dynamo-store.ts";
import { failuresOfMessages, processDeliveryBatch } from "../adapters/aws/sqs-delivery.ts";
import { withSendWindow } from "../adapters/aws/send-window.ts";
import { deliverMessage, type DeliveryOutcome } from "../core/deliver.ts";
import type { SlotWait } from "../core/flow-control.ts";
import { handToLane } from "../core/queue-lanes.ts";
import { fireSchedule } from "../core/schedules.ts";
import { sweep } from "../core/sweep.ts";
import { awsContext } from "./aws-context.ts";
import type { MetricName } from "./metrics-catalogue.ts";
import { flushMetrics, logError, logger, recordMetric } from "./observability.ts";

const METRIC_OF: Partial<Record<DeliveryOutcome, MetricName>> = {
  delivered: "Delivered",
  retry: "Retried",
  failed: "Failed",
  canceled: "Canceled",
};

/** What an ordered record may take beyond its longest attempt: its store writes, callbacks and the log page. */
const AFTER_ATTEMPT_MS = 30_000;
/**
 * The longest a job this invocation sends waits for others of its batch to share a SendMessageBatch
 * ($0.40 per million sent alone, a tenth of it shared by ten). It goes sooner once every record still
 * running waits on a send too (send-window.ts), so the wait mostly overlaps the other records' work.
 */
const SEND_WINDOW_MS = 25;
/** The longest a run waits in the invocation for a flow-control slot one of its records holds. */
const SLOT_WAIT_MAX_MS = 5_000;

async function handleDeliveries(event: SQSEvent, lambda: Context): Promise<SQSBatchResponse> {
  const { context, dispatcher, store } = awsContext();
  const counts = new Map<MetricName, number>();
  let sweeps = 0;
  const longestRecordMs = context.config.maxTimeoutSec * 1000 + AFTER_ATTEMPT_MS;
  // A run may wait for a flow-control slot of this invocation's while its attempt would still end in
  // time, and for a few seconds at most: a slot freed by another invocation wakes only the wait list.
  const slotWait: SlotWait = (over) => {
    const allowed = Math.min(SLOT_WAIT_MAX_MS, lambda.getRemainingTimeInMillis() - longestRecordMs);
    const timer = setTimeout(over, Math.max(0, allowed));
    return () => clearTimeout(timer);
  };
  const batchItemFailures = await withSendWindow(SEND_WINDOW_MS, () =>
    processDeliveryBatch(event.Records, {
      dispatcher,
      now: () => context.clock.now(),
      onError: logError,
      observeLag: (lagMs) => recordMetric("DeliveryLag", lagMs),
      timeLeft: () => lambda.getRemainingTimeInMillis(),
      orderedRecordMs: longestRecordMs,
      handOff: (job) => handToLane(context, job),
      fire: async (scheduleId, firedAt) => {
        const messageIds = await fireSchedule(context, scheduleId, firedAt);
        if (messageIds.length > 0) counts.set("ScheduleFired", (counts.get("ScheduleFired") ?? 0) + 1);
      },
      sweep: async () => {
        sweeps++;
        await sweep(context);
      },
      deliver: async (job) => {
        const outcome = await deliverMessage(context, job, { slotWait });
        const metric = METRIC_OF[outcome];
        if (metric) counts.set(metric, (counts.get(metric) ?? 0) + 1);
      },
    }),
  );
  // One log page for the whole batch. If it cannot be written now, the events stay for the next flush:
  // failing the batch would deliver its messages again. Only the jobs whose end is in no item but that
  // page (a light record's first success, whose status could not be written either) are given again.
  await store.flushEvents().catch((error: unknown) => {
    logError("log events kept for the next flush", error);
    if (!(error instanceof EndsNotRecorded)) return;
    const given = new Set(batchItemFailures.map((failure) => failure.itemIdentifier));
    for (const failure of failuresOfMessages(event.Records, error.messageIds)) {
      if (!given.has(failure.itemIdentifier)) batchItemFailures.push(failure);
    }
  });
  // A sweep alone records no metric: an idle deployment then writes none (custom metrics bill per hour
  // with data).
  if (event.Records.length > sweeps) recordMetric("Jobs", event.Records.length - sweeps);
  for (const [name, count] of counts) recordMetric(name, count);
  return { batchItemFailures };
}

export const handler = middy(handleDeliveries).use(injectLambdaContext(logger)).use(flushMetrics());
