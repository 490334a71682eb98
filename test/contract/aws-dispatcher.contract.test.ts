import { CreateQueueCommand, GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { SqsDispatcher } from "../../lambdas/adapters/aws/sqs-dispatcher.ts";
import { processDeliveryBatch } from "../../lambdas/adapters/aws/sqs-delivery.ts";
import { EmulatedScheduler } from "../../emulation/emulated-scheduler.ts";
import { SqsPoller } from "../../emulation/sqs-poller.ts";
import { uniqueName, useAwsEmulators } from "../support/aws-emulators.ts";
import { dispatcherContract } from "./dispatcher.spec.ts";

const emulators = useAwsEmulators();

dispatcherContract("SQS (fauxqs) + EventBridge Scheduler stand-in", async () => {
  const { sqs } = await emulators();
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: uniqueName("deliveries"), Attributes: { VisibilityTimeout: "1" } }),
  );
  const queueUrl = QueueUrl as string;
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
  );
  const scheduler = new EmulatedScheduler(sqs, () => queueUrl);
  const dispatcher = new SqsDispatcher({
    sqs,
    queueUrl,
    scheduler,
    scheduleGroup: "herald",
    queueArn: Attributes?.QueueArn as string,
    schedulerRoleArn: "arn:aws:iam::000000000000:role/scheduler",
    scheduleDeadLetterArn: "arn:aws:sqs:us-east-1:000000000000:poison",
  });
  let poller: SqsPoller | undefined;
  return {
    dispatcher,
    consume(handler) {
      poller = new SqsPoller({
        sqs,
        queueUrl,
        handler: (records) => processDeliveryBatch(records, { dispatcher, deliver: handler, now: Date.now }),
      });
      poller.start();
    },
    async close() {
      await poller?.stop();
      scheduler.close();
    },
  };
});
