import { Duration } from "aws-cdk-lib";
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

export interface HeraldQueuesProps {
  /** Visibility timeout: six times the delivery Lambda's timeout, as Lambda's SQS guidance asks. */
  visibilityTimeout: Duration;
}

// SQS's default and the largest size every region takes (256 KiB). A job is ids and a due time, except in
// the lean mode, where an immediate message travels inside it: up to MAX_CARRIED_BODY_BYTES base64-encoded
// plus its headers (MAX_CARRIED_HEADER_BYTES), well under this; test/cdk checks the largest job fits.
// (16 KiB here once made every carried body over ~11 KiB a 500.)
export const MAX_JOB_BYTES = 256 * 1024;
// A job that crashed the delivery handler this often is poison: it goes to the redrive queue (alarmed).
const MAX_RECEIVES = 5;

/**
 * The SQS queues deliveries run through, each with a redrive queue for poison messages — Herald's own
 * failures; the QStash DLQ (failed deliveries) is an API resource in DynamoDB.
 * - `deliveries` (standard): immediate and delayed attempts, retries, schedule firings, the sweep.
 * - `ordered` (FIFO): the first job of each queued message, one message group per lane of its queue, so
 *   SQS runs at most one job of a lane at a time, in order (docs/architecture.md §14); and the first job
 *   of a flow-control key's message due at once, one group per lane of its key (§15).
 */
export class HeraldQueues extends Construct {
  readonly deliveries: Queue;
  readonly deliveriesPoison: Queue;
  readonly ordered: Queue;
  readonly orderedPoison: Queue;

  constructor(scope: Construct, id: string, props: HeraldQueuesProps) {
    super(scope, id);
    const common = { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true };
    // A standard queue's message keeps its first enqueue time when it is redriven, so a poison queue must
    // keep messages longer than its source for them to stay there long enough to be looked at
    // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html):
    // 14 days here (SQS's maximum), 4 days (SQS's default) on the delivery queue, where a job waits at
    // most 15 minutes of delay plus five visibility timeouts.
    this.deliveriesPoison = new Queue(this, "DeliveriesPoison", { ...common, retentionPeriod: Duration.days(14) });
    this.deliveries = new Queue(this, "Deliveries", {
      ...common,
      retentionPeriod: Duration.days(4),
      maxMessageSizeBytes: MAX_JOB_BYTES,
      visibilityTimeout: props.visibilityTimeout,
      deadLetterQueue: { queue: this.deliveriesPoison, maxReceiveCount: MAX_RECEIVES },
    });
    // A FIFO queue's dead-letter queue must be FIFO too (same page). The ordered queue keeps messages the
    // longest SQS allows, 14 days: a job waits there while earlier jobs of its lane run (a wait longer
    // than one attempt moves the lane into DynamoDB, so only a lane's backlog of attempts waits in SQS).
    // High-throughput FIFO (deduplication and throughput limit per message group) lets lanes of many
    // queues run side by side (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/high-throughput-fifo.html).
    this.orderedPoison = new Queue(this, "OrderedPoison", {
      ...common,
      fifo: true,
      retentionPeriod: Duration.days(14),
    });
    this.ordered = new Queue(this, "Ordered", {
      ...common,
      fifo: true,
      contentBasedDeduplication: false,
      deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      retentionPeriod: Duration.days(14),
      maxMessageSizeBytes: MAX_JOB_BYTES,
      visibilityTimeout: props.visibilityTimeout,
      deadLetterQueue: { queue: this.orderedPoison, maxReceiveCount: MAX_RECEIVES },
    });
  }
}
