// Every custom metric Herald emits, in one place: the Lambda handlers record them (observability.ts), the
// CDK constructs chart and alarm on them (lib/observability/), the cost bench prices them. Imports nothing,
// so the Lambda bundles, the CDK app and the bench can all read it.

/** The CloudWatch namespace of Herald's metrics (Powertools' `namespace`, POWERTOOLS_METRICS_NAMESPACE). */
export const METRICS_NAMESPACE = "Herald";

/**
 * Powertools' service name where none is configured (local mode, tests). A deployment's Lambdas get their
 * stack's name instead (POWERTOOLS_SERVICE_NAME), so that two deployments in one account and region —
 * staging and production — never add to each other's metrics or set off each other's alarms.
 */
export const METRICS_SERVICE = "herald";

/** The one dimension set every metric carries (Powertools adds `service` to each): the deployment's. */
export const metricDimensions = (service: string): { service: string } => ({ service });

/** Units as Powertools and CloudWatch spell them. */
export type HeraldMetricUnit = "Count" | "Milliseconds";

export interface MetricDefinition {
  unit: HeraldMetricUnit;
  /** The Lambdas that record it. */
  emittedBy: readonly ("api" | "deliver")[];
  meaning: string;
}

export const METRICS = {
  Published: {
    unit: "Count",
    emittedBy: ["api"],
    meaning: "messages accepted by publish, enqueue and batch (one per URL group endpoint), duplicates not counted",
  },
  ClientErrors: { unit: "Count", emittedBy: ["api"], meaning: "API responses with a 4xx status" },
  Jobs: {
    unit: "Count",
    emittedBy: ["deliver"],
    meaning: "SQS records a delivery invocation took, sweeps not counted",
  },
  Delivered: { unit: "Count", emittedBy: ["deliver"], meaning: "attempts the destination accepted" },
  Retried: { unit: "Count", emittedBy: ["deliver"], meaning: "attempts that failed with a retry scheduled" },
  Failed: { unit: "Count", emittedBy: ["deliver"], meaning: "messages out of retries, moved to the DLQ" },
  Canceled: { unit: "Count", emittedBy: ["deliver"], meaning: "jobs whose message was canceled before the attempt" },
  ScheduleFired: { unit: "Count", emittedBy: ["deliver"], meaning: "schedule firings that published a message" },
  DeliveryLag: { unit: "Milliseconds", emittedBy: ["deliver"], meaning: "time from a job's due time to its attempt" },
  SchedulerFallbacks: {
    unit: "Count",
    emittedBy: ["api", "deliver"], // whichever dispatches the wait
    meaning: "one-time schedules EventBridge Scheduler refused: the wait hops through SQS instead",
  },
} as const satisfies Record<string, MetricDefinition>;

export type MetricName = keyof typeof METRICS;

export const METRIC_NAMES = Object.keys(METRICS) as MetricName[];
