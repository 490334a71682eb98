// AWS list prices in US East (N. Virginia) that the cost model (bench/aws-cost.ts) uses, each with where it
// comes from. All figures are pay-as-you-go rates WITHOUT free tiers: the bench reports what a deployment
// costs once the free tiers are used up (or on an account whose free tiers other workloads already use).
//
// `basis` says how each figure was checked on PRICES_DATE:
//   "stored page"  — the figure was read in a stored copy of the cited page (or in a transcription of it, named);
//   "known"        — "from AWS pricing page as known on 2026-11-23, not re-fetched": the stored copy of the
//                    official page (API Gateway, Lambda, DynamoDB on-demand, EventBridge, CloudWatch) did not
//                    show the rendered rate, or no copy was stored (SQS, S3, KMS); the URL is the official page.

export const PRICES_DATE = "2026-11-23";

export interface Price {
  /** US dollars per `unit`. */
  usd: number;
  unit: string;
  source: string;
  checked: string;
  basis: "stored page" | "known";
  note?: string;
}

const checked = PRICES_DATE;

export const PRICES = {
  apiGatewayHttpPerMillion: {
    usd: 1.0,
    unit: "million HTTP API requests (first 300 million a month)",
    source: "https://aws.amazon.com/api-gateway/pricing/",
    checked,
    basis: "known",
    note:
      "$0.90/M above 300M. Requests are metered in 512 KB increments (see apiGatewayHttpMeteringBytes). Free tier: 1M " +
      "calls a month for 12 months (new accounts), not applied.",
  },
  lambdaArmPerGbSecond: {
    usd: 0.0000133334,
    unit: "GB-second, arm64 (first 7.5 billion GB-s a month)",
    source: "https://aws.amazon.com/lambda/pricing/",
    checked,
    basis: "known",
    note: "Duration is billed in 1 ms steps at the configured memory. Free tier 400,000 GB-s a month, not applied.",
  },
  lambdaPerMillionRequests: {
    usd: 0.2,
    unit: "million invocations",
    source: "https://aws.amazon.com/lambda/pricing/",
    checked,
    basis: "known",
    note: "Free tier 1M requests a month, not applied.",
  },
  sqsStandardPerMillion: {
    usd: 0.4,
    unit: "million requests, standard queue (first 100 billion a month)",
    source: "https://aws.amazon.com/sqs/pricing/",
    checked,
    basis: "known",
    note:
      "Every 64 KB chunk of a request's payload is billed as one request (stored page " +
      "https://aws.amazon.com/sqs/features/). Empty receives are requests too. The queue owner pays for every " +
      "request to its queue, including Lambda's event source mapping and Scheduler's sends. Free tier 1M a month, " +
      "not applied.",
  },
  sqsFifoPerMillion: {
    usd: 0.5,
    unit: "million requests, FIFO queue (first 100 billion a month)",
    source: "https://aws.amazon.com/sqs/pricing/",
    checked,
    basis: "known",
    note: "Herald uses no FIFO queue (QStash queues are ordered in DynamoDB); listed for completeness.",
  },
  dynamoWriteRequestUnitPerMillion: {
    usd: 0.625,
    unit: "million write request units, on-demand",
    source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    checked,
    basis: "known",
    note:
      "After the 50% on-demand throughput price cut effective 2024-11-01 (was $1.25). One WRU writes up to 1 KB " +
      "(the larger of the item before and after), again for every GSI the item is in; transactional writes cost 2x " +
      "(key terms on the stored page).",
  },
  dynamoReadRequestUnitPerMillion: {
    usd: 0.125,
    unit: "million read request units, on-demand",
    source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    checked,
    basis: "known",
    note:
      "After the 2024-11-01 cut (was $0.25). One RRU reads up to 4 KB strongly consistent; eventually consistent " +
      "reads cost half, transactional reads twice (stored page).",
  },
  dynamoProvisionedWriteUnitHour: {
    usd: 0.00065,
    unit: "write capacity unit-hour, provisioned (one 1 KB write a second for an hour)",
    source: "https://aws.amazon.com/dynamodb/pricing/provisioned/",
    checked,
    basis: "known",
    note:
      "Billed per hour of capacity whether used or not; GSIs have their own. 3,600 writes an hour at full use: " +
      "$0.18 per million. The bench prices the `tableCapacity` opt-in at PROVISIONED_UTILIZATION (auto scaling's " +
      "default 70 % target). 25 WCU free, not applied.",
  },
  dynamoProvisionedReadUnitHour: {
    usd: 0.00013,
    unit: "read capacity unit-hour, provisioned (one 4 KB strongly consistent read a second for an hour)",
    source: "https://aws.amazon.com/dynamodb/pricing/provisioned/",
    checked,
    basis: "known",
    note: "Eventually consistent reads use half a unit, as on demand. 25 RCU free, not applied.",
  },
  dynamoStoragePerGbMonth: {
    usd: 0.25,
    unit: "GB-month of table storage (Standard table class)",
    source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    checked,
    basis: "known",
    note: "Item size plus 100 bytes of overhead per item and per GSI entry. First 25 GB free, not applied.",
  },
  dynamoPitrPerGbMonth: {
    usd: 0.2,
    unit: "GB-month of continuous backup (point-in-time recovery), on the table size",
    source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    checked,
    basis: "known",
    note: "The stack enables PITR on its table.",
  },
  schedulerPerMillionInvocations: {
    usd: 1.0,
    unit: "million EventBridge Scheduler invocations",
    source: "https://aws.amazon.com/eventbridge/pricing/",
    checked,
    basis: "known",
    note:
      "Scheduler bills invocations (a schedule firing), not API calls such as CreateSchedule. 14M invocations a " +
      "month free, not applied. The AWS price list shows the same structure (e.g. $1.25/M in Tokyo).",
  },
  s3PutPerThousand: {
    usd: 0.005,
    unit: "thousand PUT, COPY, POST, LIST requests (S3 Standard)",
    source: "https://aws.amazon.com/s3/pricing/",
    checked,
    basis: "known",
  },
  s3GetPerThousand: {
    usd: 0.0004,
    unit: "thousand GET, SELECT and other requests (S3 Standard)",
    source: "https://aws.amazon.com/s3/pricing/",
    checked,
    basis: "known",
  },
  s3StoragePerGbMonth: {
    usd: 0.023,
    unit: "GB-month, S3 Standard (first 50 TB)",
    source: "https://aws.amazon.com/s3/pricing/",
    checked,
    basis: "known",
  },
  secretPerMonth: {
    usd: 0.4,
    unit: "secret-month",
    source: "https://aws.amazon.com/secrets-manager/pricing/",
    checked,
    basis: "stored page",
    note:
      "Read in a transcription of the official page (api-evangelist/amazon-secrets-manager plans, 2026-09-20); " +
      "replicas bill as separate secrets.",
  },
  secretsPerTenThousandCalls: {
    usd: 0.05,
    unit: "10,000 API calls",
    source: "https://aws.amazon.com/secrets-manager/pricing/",
    checked,
    basis: "stored page",
    note: "Same transcription as secretPerMonth.",
  },
  logsIngestionPerGb: {
    usd: 0.5,
    unit: "GB ingested into CloudWatch Logs (Standard class; first tier of Lambda's vended-log pricing)",
    source: "https://aws.amazon.com/cloudwatch/pricing/",
    checked,
    basis: "known",
    note: "Free tier 5 GB a month (ingestion + storage + Insights scans), not applied.",
  },
  logsIngestionInfrequentAccessPerGb: {
    usd: 0.25,
    unit: "GB ingested into a CloudWatch Logs group of the Infrequent Access class",
    source: "https://aws.amazon.com/cloudwatch/pricing/",
    checked,
    basis: "known",
    note: "Half of Standard's, as AWS announced the class (https://aws.amazon.com/blogs/aws/new-amazon-cloudwatch-log-class-for-infrequent-access-logs-at-a-reduced-price/: \"a 50% lower per GB ingestion price than Standard\"). Storage is priced as Standard's (logsStoragePerGbMonth).",
  },
  logsStoragePerGbMonth: {
    usd: 0.03,
    unit: "GB-month archived",
    source: "https://aws.amazon.com/cloudwatch/pricing/",
    checked,
    basis: "known",
    note: "Billed on compressed size; the bench applies it to uncompressed bytes (an upper bound).",
  },
  customMetricPerMonth: {
    usd: 0.3,
    unit: "custom metric-month (first 10,000 metrics)",
    source: "https://aws.amazon.com/cloudwatch/pricing/",
    checked,
    basis: "known",
    note:
      "Each name x dimension set is one metric, pro-rated by the hour it receives data (EMF metrics included). " +
      "10 metrics free, not applied.",
  },
  alarmMetricPerMonth: {
    usd: 0.1,
    unit: "standard-resolution alarm metric-month",
    source: "https://aws.amazon.com/cloudwatch/pricing/",
    checked,
    basis: "known",
    note:
      "An alarm on a metric-math expression is billed per metric it references. High-resolution (< 60 s period) " +
      "$0.30. The stored page's free tier counts '10 Alarm metrics', not applied.",
  },
  highResAlarmMetricPerMonth: {
    usd: 0.3,
    unit: "high-resolution alarm metric-month",
    source: "https://aws.amazon.com/cloudwatch/pricing/",
    checked,
    basis: "known",
  },
  dashboardPerMonth: {
    usd: 3.0,
    unit: "custom dashboard-month",
    source: "https://aws.amazon.com/cloudwatch/pricing/",
    checked,
    basis: "known",
    note: "The stored page's free tier: 3 custom dashboards (up to 50 metrics each) per account, not applied.",
  },
  kmsKeyPerMonth: {
    usd: 1.0,
    unit: "customer managed KMS key-month",
    source: "https://aws.amazon.com/kms/pricing/",
    checked,
    basis: "known",
    note: "AWS managed and AWS owned keys (SQS-managed, S3-managed, aws/secretsmanager) cost nothing a month.",
  },
  qstashPerHundredThousand: {
    usd: 1.0,
    unit: "100,000 messages, Upstash QStash pay-as-you-go",
    source: "https://upstash.com/docs/qstash/overall/pricing",
    checked,
    basis: "stored page",
    note:
      "$10 per million. QStash bills a URL-group publish once per endpoint; its current FAQ " +
      "(https://upstash.com/pricing/qstash) also counts each retry as a message.",
  },
} as const satisfies Record<string, Price>;

export const API_GATEWAY_HTTP_METERING_BYTES = 512 * 1024;
export const SQS_CHUNK_BYTES = 64 * 1024;
export const GIB = 1024 ** 3;
export const DAYS_PER_MONTH = 30.4375;

/**
 * Bytes Lambda itself writes to the function's log group per invocation (the stack sets JSON log format):
 * one platform.start and one platform.report record, shaped as below (request id 36 characters, typical
 * figures). Assumption, not measured: no cold-start records (platform.initStart/initReport are per
 * container, amortized to nothing) and no platform.end line in JSON format.
 */
export const LAMBDA_PLATFORM_LOG_LINES = [
  '{"time":"2026-11-23T12:00:00.000Z","type":"platform.start","record":{"requestId":"6d68ca91-49c9-448d-89b8-7ca3f67af6b6","version":"$LATEST"}}',
  '{"time":"2026-11-23T12:00:00.021Z","type":"platform.report","record":{"requestId":"6d68ca91-49c9-448d-89b8-7ca3f67af6b6","metrics":{"durationMs":20.512,"billedDurationMs":21,"memorySizeMB":512,"maxMemoryUsedMB":98},"status":"success"}}',
] as const;

/**
 * CloudWatch Logs counts 26 bytes per log event on top of its message when sizing PutLogEvents batches.
 * Whether ingestion billing includes it is not stated on the pricing page; the bench adds it (conservative).
 */
export const LOG_EVENT_OVERHEAD_BYTES = 26;

/**
 * Typical values of the HTTP API context variables the stage's access log may hold, other than those the
 * bench takes from each request (method, path, status, response length). A variable with no value
 * renders as "-" (public capture of an API Gateway access log: "caller": "-", "requestTimeEpoch":
 * "1698414057744", https://github.com/ministryofjustice/modernisation-platform-environments/pull/3807);
 * a request that succeeded has no error message. Variables:
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html
 */
export const ACCESS_LOG_SAMPLE_VALUES: Readonly<Record<string, string>> = {
  requestId: "Jq3xYgWkIAMEVWA=",
  extendedRequestId: "Jq3xYgWkIAMEVWA=",
  requestTimeEpoch: "1764331200000",
  requestTime: "23/Nov/2026:12:00:00 +0000",
  "identity.sourceIp": "203.0.113.195",
  // The official SDK and the bench call the API with Node's fetch, whose user agent is "node".
  "identity.userAgent": "node",
  protocol: "HTTP/1.1",
  routeKey: "$default",
  stage: "$default",
  responseLatency: "21",
  integrationLatency: "19",
  integrationStatus: "200",
  "error.message": "-",
  integrationErrorMessage: "-",
};

/**
 * Lambda's SQS event source mapping polls an idle standard queue with long polling
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html, stored page: "Lambda uses long
 * polling to poll a queue until it becomes active ... When traffic is low, Lambda scales back the processing to
 * five concurrent batches, and can optimize to as few as 2 ... this optimization is not available when you
 * enable the maximum concurrency setting"). Assumption: each poller issues one 20-second long poll after another.
 */
export const ESM_IDLE = {
  pollersWithMaxConcurrency: 5,
  pollersOptimized: 2,
  longPollSeconds: 20,
} as const;

/**
 * For the "at AWS latency" Lambda figure only: the round trip the bench assumes for one request from a Lambda
 * to each service in the same region (typical p50s; assumptions, not measured here). The measured figure uses
 * the emulators' latency as it comes.
 */
export const ASSUMED_AWS_LATENCY_MS: Record<string, number> = {
  DynamoDB: 5,
  SQS: 10,
  S3: 20,
  Scheduler: 25,
  SecretsManager: 15,
};
