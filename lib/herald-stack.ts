import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import { Herald } from "./herald.ts";
import type { HeraldProps } from "./herald-props.ts";

/** The deployable stack: the Herald construct and what a user needs to start (URL, secret, dashboard). */
export class HeraldStack extends Stack {
  readonly herald: Herald;

  constructor(scope: Construct, id: string, props: StackProps & { herald?: HeraldProps } = {}) {
    super(scope, id, { description: "Herald: QStash-compatible messaging in your AWS account", ...props });
    this.herald = new Herald(this, "Herald", props.herald);
    new CfnOutput(this, "ApiUrl", {
      value: this.herald.apiUrl,
      description: "Use as the SDK's baseUrl (or QSTASH_URL)",
    });
    new CfnOutput(this, "SecretArn", {
      value: this.herald.keys.secret.secretArn,
      description: "Secrets Manager secret with the API token (signing keys: GET /v2/keys)",
    });
    if (this.herald.rawPathUrl) {
      new CfnOutput(this, "RawPathUrl", {
        value: this.herald.rawPathUrl,
        description: "A second baseUrl that keeps encoded characters of destinations (%2F, %3F) as sent",
      });
    }
    new CfnOutput(this, "DeliveryQueueArn", {
      value: this.herald.queues.deliveries.queueArn,
      description: "The delivery queue: where jobs of the poison queue go back to (--destination-arn)",
    });
    // Scheduler's dead-letter queue too: a job it could not send arrives there without an SQS source queue,
    // and a move task without a destination moves only messages SQS itself dead-lettered
    // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html).
    new CfnOutput(this, "PoisonQueueArn", {
      value: this.herald.queues.deliveriesPoison.queueArn,
      description:
        "Delivery jobs that crashed Herald 5 times or that Scheduler could not send (alarmed); redrive: aws sqs start-message-move-task --source-arn <this> --destination-arn <DeliveryQueueArn>",
    });
    // FIFO dead-letter queues redrive too, into a FIFO queue
    // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue-redrive.html).
    new CfnOutput(this, "OrderedPoisonQueueArn", {
      value: this.herald.queues.orderedPoison.queueArn,
      description:
        "Queued messages' first jobs that crashed Herald 5 times (alarmed); redrive: aws sqs start-message-move-task --source-arn <this>",
    });
    if (this.herald.dashboard) {
      new CfnOutput(this, "DashboardUrl", {
        value: `https://${this.region}.console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards:name=${this.herald.dashboard.dashboard.dashboardName}`,
        description: "CloudWatch dashboard",
      });
    }
  }
}
