import type { Duration, RemovalPolicy } from "aws-cdk-lib";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import type { LogGroupClass, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { HeraldLogLevel } from "./functions.ts";

/** What a deployment of Herald can change. Every prop is optional; the defaults suit most teams. */
export interface HeraldProps {
  /** How long logs, DLQ entries and finished messages are kept (DynamoDB TTL, S3 lifecycle). @default 7 days */
  readonly retention?: Duration;
  /** Largest accepted message body, in bytes (413 above). @default 1 MiB */
  readonly maxBodyBytes?: number;
  /**
   * Delivery Lambda invocations at once per queue (the maxConcurrency of each of the two SQS event
   * sources, the standard queue's and the FIFO queue's, 2–1000): up to twice this in all. Each handles a
   * batch of up to 10 attempts concurrently. Caps the load Herald puts on destinations and on your
   * account's Lambda concurrency. @default 20
   */
  readonly deliveryConcurrency?: number;
  /** Longest per-attempt timeout (also the default when a message sets none). At most 14 minutes. @default 2 minutes */
  readonly maxDeliveryTimeout?: Duration;
  /**
   * Which addresses deliveries, callbacks and failure callbacks may reach. `"public"` refuses loopback (the
   * Lambda runtime API), private, link-local (the metadata service) and every other non-public address,
   * checked on the address actually connected to after DNS resolution: a publisher must not reach your VPC
   * or the metadata service through Herald. `"any"` refuses nothing. @default "public"
   */
  readonly destinationPolicy?: "public" | "any";
  /**
   * Exceptions to the `"public"` policy: host names (`hooks.internal.example`, or `*.internal.example` for
   * every name under it) allowed whatever they resolve to, and addresses or CIDR ranges (`10.1.0.0/16`,
   * `fd00:1::/64`) allowed under any name. @default none
   */
  readonly destinationAllowList?: string[];
  /** @deprecated use `destinationPolicy: "any"` (true) or `"public"` (false). */
  readonly allowPrivateDestinations?: boolean;
  /**
   * `"full"`: every message has a DynamoDB record from its publish on, so `GET`/`DELETE
   * /v2/messages/{id}` find and cancel it at once, as on QStash. `"lean"`: an immediate message travels
   * inside its SQS job with no record until its first attempt ends — fewer DynamoDB writes per message
   * (BENCHMARKS.md), but it cannot be read or cancelled meanwhile (404). Sets HERALD_MESSAGE_RECORDS.
   * @default "full"
   */
  readonly messageRecords?: "full" | "lean";
  /**
   * How the DynamoDB table pays for reads and writes. `"onDemand"`: per request, nothing while idle, no
   * capacity to plan. Provisioned capacity with auto scaling: billed per hour of capacity whether used or
   * not — at the 70 % target about 60 % less per write than on demand, under a steady load — but a burst
   * beyond the capacity (and DynamoDB's five minutes of saved-up burst capacity) is throttled for the
   * minutes auto scaling takes to catch up: for steady loads (README, "DynamoDB capacity"; BENCHMARKS.md).
   * The `lists` index gets the same settings, and throttled requests are charted and alarmed. A table can
   * go from on demand to provisioned at any time, back at most four times a day (AWS, "Considerations when
   * switching capacity modes"). @default "onDemand"
   */
  readonly tableCapacity?: "onDemand" | TableProvisionedCapacity;
  /** Default backoff is min(1 day, e^(factor·n)) seconds before retry n. @default 2 */
  readonly backoffFactor?: number;
  /**
   * Creates the CloudWatch dashboard, how Herald is watched in the console (`npx cdk deploy -c
   * dashboard=false` for the app in bin/ leaves it out). A dashboard costs $3 a month beyond an account's
   * three free ones (BENCHMARKS.md); the metrics and alarms are there either way. @default true
   */
  readonly dashboard?: boolean;
  /**
   * The API stage's steady request rate (per second) and burst; API Gateway answers 429 above them
   * before any Lambda runs, so a flood cannot invoke the API Lambda without bound nor starve deliveries
   * of the account's Lambda concurrency. @default { rateLimit: 1000, burstLimit: 2000 }
   */
  readonly apiThrottle?: { rateLimit: number; burstLimit: number };
  /**
   * Reserved concurrency of the API Lambda: a hard cap on its instances (and a guaranteed share of the
   * account's concurrency). Reserving takes it out of the pool every other function shares, so it is
   * off unless set. @default none
   */
  readonly apiReservedConcurrency?: number;
  /**
   * Adds a second endpoint for producers, a Lambda Function URL on the API Lambda, that hands Herald the
   * request path as sent. API Gateway HTTP APIs percent-decode the path before Herald sees it, so a
   * destination such as `https://x.com/a%2Fb` is delivered to `/a/b` through `apiUrl`, and one with `%3F`
   * is cut there; through this endpoint it is delivered byte for byte (README, "Encoded characters in
   * destinations"). A Function URL costs nothing per request beyond the Lambda invocation, but has no
   * stage throttling: set `apiReservedConcurrency` with it to cap what a flood can invoke. @default false
   */
  readonly rawPathEndpoint?: boolean;
  /** SNS topic the alarms notify. @default - alarms without actions */
  readonly alarmTopic?: ITopic;
  /**
   * Least severe log line the Lambdas write (Powertools' level) and Lambda keeps (its application log level;
   * both are set, since Lambda's overrides Powertools'). @default "INFO"
   */
  readonly logLevel?: HeraldLogLevel;
  /** Retention of the Lambda and API access logs. @default one month */
  readonly logRetention?: RetentionDays;
  /**
   * Log class of the API stage's access log group. Nothing in Herald reads that log (no metric filter,
   * alarm or dashboard widget does), so it defaults to Infrequent Access: half Standard's ingestion price.
   * Logs Insights queries work on it (all but pattern, diff, filterIndex and unmask); Live Tail, metric
   * filters, alarms and `aws logs tail` need Standard. CloudFormation cannot change a group's class, so
   * each class has its own group: switching (or updating a stack from before 2026-12-06, whose group was
   * Standard) creates the new group and deletes the old one with its lines. The Lambdas' log groups stay
   * Standard: their EMF lines are the metrics. @default LogGroupClass.INFREQUENT_ACCESS
   */
  readonly accessLogClass?: LogGroupClass.STANDARD | LogGroupClass.INFREQUENT_ACCESS;
  /** What deleting the stack does to the table, bucket and secret. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** Provisioned capacity of the table and its index, scaled between the bounds to keep the target utilization. */
export interface TableProvisionedCapacity {
  /**
   * Most write capacity units auto scaling may set (writes of 1 KB a second), for the table and again for
   * the index; also what a live table switched from on demand starts with. A waiting message takes about
   * 5 units in all, an immediate one about 1: size for peak messages a second × that.
   */
  readonly maxWriteUnits: number;
  /** Most read capacity units auto scaling may set (strongly consistent reads of 4 KB a second); 1.5–6 a message. */
  readonly maxReadUnits: number;
  /** Fewest write units, what an idle table pays for ($0.47 a month each, for the table and the index). @default 1 */
  readonly minWriteUnits?: number;
  /** Fewest read units ($0.09 a month each, table and index). @default 1 */
  readonly minReadUnits?: number;
  /** Consumed over provisioned capacity that auto scaling aims for, 20–90. @default 70 */
  readonly targetUtilizationPercent?: number;
}
