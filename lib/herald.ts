import { Duration, RemovalPolicy, Stack, Token } from "aws-cdk-lib";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import { LogGroupClass, RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { HeraldApi } from "./api.ts";
import { DELIVERY_BATCH_SIZE, HeraldDelivery } from "./delivery.ts";
import type { HeraldProps } from "./herald-props.ts";
import { HeraldKeys } from "./keys.ts";
import { acknowledgeNagFindings, acknowledgeWildcardResource } from "./nag-suppressions.ts";
import { GSI_LISTS } from "../lambdas/adapters/aws/table-schema.ts";
import { parseDestinationPolicy } from "../lambdas/core/destination-policy.ts";
import { METRICS_NAMESPACE } from "../lambdas/handlers/metrics-catalogue.ts";
import { HeraldAlarms } from "./observability/alarms.ts";
import { HeraldDashboard } from "./observability/dashboard.ts";
import { HeraldMetrics } from "./observability/metrics.ts";
import { HeraldQueues } from "./queues.ts";
import { HeraldScheduling } from "./scheduling.ts";
import { HeraldStorage } from "./storage.ts";

export type { HeraldProps } from "./herald-props.ts";

/**
 * Herald, QStash-compatible messaging, as one construct: drop it into your own CDK app or deploy it with
 * HeraldStack. Producers use `apiUrl` with the token from `secret`; operators watch `alarms` (and
 * `dashboard`, unless left out).
 */
export class Herald extends Construct {
  readonly apiUrl: string;
  /** The Function URL that keeps the request path's encoding (`rawPathEndpoint: true`), else undefined. */
  readonly rawPathUrl?: string;
  readonly storage: HeraldStorage;
  readonly queues: HeraldQueues;
  readonly keys: HeraldKeys;
  readonly scheduling: HeraldScheduling;
  readonly api: HeraldApi;
  readonly delivery: HeraldDelivery;
  readonly metrics: HeraldMetrics;
  /** Present unless the `dashboard: false` prop leaves it out. */
  readonly dashboard?: HeraldDashboard;
  readonly alarms: HeraldAlarms;

  constructor(scope: Construct, id: string, props: HeraldProps = {}) {
    super(scope, id);
    const retention = props.retention ?? Duration.days(7);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    const maxDeliveryTimeout = props.maxDeliveryTimeout ?? Duration.minutes(2);
    const deliveryConcurrency = props.deliveryConcurrency ?? 20;
    if (maxDeliveryTimeout.toSeconds() < 1 || maxDeliveryTimeout.toSeconds() > 14 * 60) {
      throw new Error("maxDeliveryTimeout must be between 1 second and 14 minutes (a Lambda runs at most 15)");
    }
    if (!Number.isInteger(deliveryConcurrency) || deliveryConcurrency < 2 || deliveryConcurrency > 1000) {
      throw new Error("deliveryConcurrency must be an integer from 2 to 1000");
    }
    const maxBodyBytes = props.maxBodyBytes ?? 1024 * 1024;
    // A Lambda takes at most 6 MB of event, and API Gateway sends binary bodies base64-encoded.
    if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1 || maxBodyBytes > 4 * 1024 * 1024) {
      throw new Error("maxBodyBytes must be an integer from 1 to 4 MiB (4194304)");
    }
    if (props.messageRecords !== undefined && !["full", "lean"].includes(props.messageRecords)) {
      throw new Error('messageRecords must be "full" or "lean"');
    }
    const legacyPolicy =
      props.allowPrivateDestinations === undefined ? undefined : props.allowPrivateDestinations ? "any" : "public";
    if (props.destinationPolicy && legacyPolicy && props.destinationPolicy !== legacyPolicy) {
      throw new Error(
        "destinationPolicy and the deprecated allowPrivateDestinations disagree: set only destinationPolicy",
      );
    }
    const destinationPolicy = props.destinationPolicy ?? legacyPolicy ?? "public";
    const allowList = props.destinationAllowList ?? [];
    // Fails synth on an entry the Lambdas would refuse to start with (tokens are only known at deploy).
    parseDestinationPolicy(
      destinationPolicy,
      allowList.filter((entry) => !Token.isUnresolved(entry)),
      "destinationAllowList",
    );
    // The delivery Lambda outlives its longest attempt by a minute; SQS hides a job for six Lambda timeouts.
    const deliveryTimeout = Duration.seconds(maxDeliveryTimeout.toSeconds() + 60);

    this.storage = new HeraldStorage(this, "Storage", { retention, removalPolicy, capacity: props.tableCapacity });
    this.keys = new HeraldKeys(this, "Keys", { removalPolicy });
    this.queues = new HeraldQueues(this, "Queues", {
      visibilityTimeout: Duration.seconds(deliveryTimeout.toSeconds() * 6),
    });
    this.scheduling = new HeraldScheduling(this, "Scheduling", {
      target: this.queues.deliveries,
      deadLetter: this.queues.deliveriesPoison,
    });

    // Each deployment's metrics apart: two stacks in one account and region never share a series.
    const metricsService = Stack.of(this).stackName;
    const environment: Record<string, string> = {
      HERALD_TABLE: this.storage.table.tableName,
      HERALD_BUCKET: this.storage.bucket.bucketName,
      HERALD_QUEUE_URL: this.queues.deliveries.queueUrl,
      HERALD_QUEUE_ARN: this.queues.deliveries.queueArn,
      HERALD_ORDERED_QUEUE_URL: this.queues.ordered.queueUrl,
      HERALD_SCHEDULE_GROUP: this.scheduling.group.scheduleGroupName,
      HERALD_SCHEDULER_ROLE_ARN: this.scheduling.role.roleArn,
      HERALD_SCHEDULE_DLQ_ARN: this.queues.deliveriesPoison.queueArn,
      HERALD_SECRET_ARN: this.keys.secret.secretArn,
      HERALD_RETENTION: `${retention.toSeconds()}s`,
      HERALD_MAX_BODY_BYTES: String(maxBodyBytes),
      HERALD_MAX_TIMEOUT: `${maxDeliveryTimeout.toSeconds()}s`,
      HERALD_BACKOFF_FACTOR: String(props.backoffFactor ?? 2),
      HERALD_DESTINATION_POLICY: destinationPolicy,
      HERALD_MESSAGE_RECORDS: props.messageRecords ?? "full",
      // The deployment's cap on attempts in flight (GET /v2/globalParallelism): each of the two event
      // source mappings runs up to deliveryConcurrency invocations of a batch whose jobs run at once.
      HERALD_MAX_CONCURRENT_DELIVERIES: String(2 * deliveryConcurrency * DELIVERY_BATCH_SIZE),
      ...(allowList.length > 0 ? { HERALD_DESTINATION_ALLOW_LIST: allowList.join(",") } : {}),
      POWERTOOLS_SERVICE_NAME: metricsService,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    };
    const apiThrottle = props.apiThrottle ?? { rateLimit: 1000, burstLimit: 2000 };
    if (!(apiThrottle.rateLimit > 0) || !Number.isInteger(apiThrottle.burstLimit) || apiThrottle.burstLimit < 1) {
      throw new Error("apiThrottle needs a positive rateLimit and a positive integer burstLimit");
    }
    const reserved = props.apiReservedConcurrency;
    if (reserved !== undefined && (!Number.isInteger(reserved) || reserved < 1)) {
      throw new Error("apiReservedConcurrency must be a positive integer");
    }
    const accessLogClass = props.accessLogClass ?? LogGroupClass.INFREQUENT_ACCESS;
    if (![LogGroupClass.STANDARD, LogGroupClass.INFREQUENT_ACCESS].includes(accessLogClass)) {
      throw new Error("accessLogClass must be LogGroupClass.STANDARD or LogGroupClass.INFREQUENT_ACCESS");
    }
    const logLevel = props.logLevel ?? "INFO";
    this.api = new HeraldApi(this, "Api", {
      environment,
      logRetention,
      logLevel,
      accessLogClass,
      throttle: apiThrottle,
      ...(reserved === undefined ? {} : { reservedConcurrency: reserved }),
    });
    this.delivery = new HeraldDelivery(this, "Delivery", {
      queue: this.queues.deliveries,
      orderedQueue: this.queues.ordered,
      timeout: deliveryTimeout,
      maxConcurrency: deliveryConcurrency,
      environment,
      logRetention,
      logLevel,
    });
    // A stack update replaces the delivery code before the API's: a message the new code stores in a new
    // layout (docs/architecture.md §7, status partitions) is never delivered by code that cannot read it.
    this.api.function.node.addDependency(this.delivery.function);
    this.grantRuntimeAccess(this.api.function, "api");
    this.grantRuntimeAccess(this.delivery.function, "delivery");
    this.apiUrl = this.api.url(Stack.of(this));
    if (props.rawPathEndpoint === true) this.rawPathUrl = this.api.addRawPathEndpoint();

    this.metrics = new HeraldMetrics({
      service: metricsService,
      api: this.api.httpApi,
      apiFunction: this.api.function,
      ...(this.rawPathUrl === undefined ? {} : { functionUrl: true }),
      deliveryFunction: this.delivery.function,
      queues: [
        { name: "deliveries", queue: this.queues.deliveries },
        { name: "ordered", queue: this.queues.ordered, ageAlarm: false },
      ],
      poisonQueues: [
        { name: "deliveries", queue: this.queues.deliveriesPoison },
        { name: "ordered", queue: this.queues.orderedPoison },
      ],
      ...(props.tableCapacity !== undefined && props.tableCapacity !== "onDemand"
        ? { provisionedTable: { table: this.storage.table, indexNames: [GSI_LISTS.indexName] } }
        : {}),
    });
    if (props.dashboard !== false) this.dashboard = new HeraldDashboard(this, "Dashboard", { metrics: this.metrics });
    this.alarms = new HeraldAlarms(this, "Alarms", {
      metrics: this.metrics,
      ...(props.alarmTopic ? { topic: props.alarmTopic } : {}),
    });
    acknowledgeNagFindings(this);
  }

  /**
   * What each Lambda calls, on Herald's resources only. Both publish (the API) or republish (retries,
   * callbacks): messages, bodies, keys, queue, schedules. Only the API lists (index queries) and deletes
   * (DLQ entries).
   */
  private grantRuntimeAccess(fn: LambdaFunction, role: "api" | "delivery"): void {
    const { table, bucket } = this.storage;
    const indexes = [GSI_LISTS].map((gsi) => `${table.tableArn}/index/${gsi.indexName}`);
    const writes = ["dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"];
    fn.addToRolePolicy(
      new PolicyStatement({
        // Both read records and end queue entries; only the API deletes records and DLQ entries.
        actions: [...writes, "dynamodb:GetItem", "dynamodb:DeleteItem"],
        resources: [table.tableArn],
      }),
    );
    if (role === "api") {
      fn.addToRolePolicy(new PolicyStatement({ actions: ["dynamodb:Query"], resources: indexes }));
      // Listing pending messages (bulk cancel by filter) reads their records a hundred at a time.
      fn.addToRolePolicy(new PolicyStatement({ actions: ["dynamodb:BatchGetItem"], resources: [table.tableArn] }));
    }
    const objects = [bucket.arnForObjects("bodies/*"), bucket.arnForObjects("responses/*")];
    fn.addToRolePolicy(new PolicyStatement({ actions: ["s3:GetObject", "s3:PutObject"], resources: objects }));
    // Read the token and keys; write a new version when generating (first use) or rotating them.
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"],
        resources: [this.keys.secret.secretArn],
      }),
    );
    this.queues.deliveries.grantSendMessages(fn);
    this.queues.ordered.grantSendMessages(fn); // enqueues: the API's, and the delivery Lambda's schedule firings and DLQ retries
    const schedules = Stack.of(this).formatArn({
      service: "scheduler",
      resource: "schedule",
      resourceName: `${this.scheduling.group.scheduleGroupName}/*`,
    });
    // Both create one-time schedules (long delays); the API also manages the recurring ones of schedules.
    const scheduleActions = ["scheduler:CreateSchedule"];
    if (role === "api") scheduleActions.push("scheduler:UpdateSchedule", "scheduler:DeleteSchedule");
    fn.addToRolePolicy(new PolicyStatement({ actions: scheduleActions, resources: [schedules] }));
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ["iam:PassRole"],
        resources: [this.scheduling.role.roleArn],
        conditions: { StringEquals: { "iam:PassedToService": "scheduler.amazonaws.com" } },
      }),
    );

    for (const arn of objects) {
      acknowledgeWildcardResource(fn, arn, "Large message and response bodies, keyed by message or DLQ id.");
    }
    acknowledgeWildcardResource(
      fn,
      schedules,
      "Schedules in Herald's group, named after the delivery job (one-time) or the Herald schedule (recurring).",
    );
  }
}
