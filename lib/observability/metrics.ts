import { Duration } from "aws-cdk-lib";
import type { Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import { Metric, MathExpression, Stats, type IMetric } from "aws-cdk-lib/aws-cloudwatch";
import type { HttpApi } from "aws-cdk-lib/aws-apigatewayv2";
import type { Queue } from "aws-cdk-lib/aws-sqs";
import type { TableV2 } from "aws-cdk-lib/aws-dynamodb";
import { metricDimensions, METRICS_NAMESPACE, type MetricName } from "../../lambdas/handlers/metrics-catalogue.ts";

export interface HeraldMetricSources {
  /** The `service` dimension the deployment's Lambdas emit under (POWERTOOLS_SERVICE_NAME). */
  service: string;
  api: HttpApi;
  apiFunction: LambdaFunction;
  /** The API Lambda has a Function URL (`rawPathEndpoint`): producers may call it instead of `api`. */
  functionUrl?: boolean;
  deliveryFunction: LambdaFunction;
  /**
   * `ageAlarm: false`: a queue whose oldest message may rightly be old (the FIFO queue holds a queue's
   * backlog, delivered one at a time per lane): charted, not alarmed.
   */
  queues: { name: string; queue: Queue; ageAlarm?: boolean }[];
  poisonQueues: { name: string; queue: Queue }[];
  /**
   * The table, when it is on provisioned capacity (`tableCapacity`): its throttled requests are then worth
   * charting and alarming (an on-demand table throttles only past twice its previous peak).
   */
  provisionedTable?: { table: TableV2; indexNames: string[] };
}

const PERIOD = Duration.minutes(5);

/**
 * Every metric Herald's dashboard and alarms use, defined once (apart from how they are shown or
 * alarmed). Herald's own counters come from Powertools (EMF), as the catalogue names them.
 */
export class HeraldMetrics {
  private readonly sources: HeraldMetricSources;
  constructor(sources: HeraldMetricSources) {
    this.sources = sources;
  }

  private herald(name: MetricName, label: string, statistic: string = Stats.SUM): Metric {
    return new Metric({
      namespace: METRICS_NAMESPACE,
      metricName: name,
      dimensionsMap: metricDimensions(this.sources.service),
      statistic,
      period: PERIOD,
      label,
    });
  }

  published = (): Metric => this.herald("Published", "Published");
  delivered = (): Metric => this.herald("Delivered", "Delivered");
  retried = (): Metric => this.herald("Retried", "Retried (attempt failed, retry scheduled)");
  failed = (): Metric => this.herald("Failed", "Failed (moved to the DLQ)");
  schedulerFallbacks = (): Metric =>
    this.herald("SchedulerFallbacks", "Waits that went into SQS because Scheduler refused their schedule");
  deliveryLagP50 = (): Metric => this.herald("DeliveryLag", "Delivery latency p50 (ms after due)", Stats.p(50));
  deliveryLagP99 = (): Metric => this.herald("DeliveryLag", "Delivery latency p99 (ms after due)", Stats.p(99));

  oldestMessageAge(options: { alarmed?: boolean } = {}): Metric[] {
    const queues = options.alarmed ? this.sources.queues.filter((q) => q.ageAlarm !== false) : this.sources.queues;
    return queues.map(({ name, queue }) =>
      queue.metricApproximateAgeOfOldestMessage({
        period: PERIOD,
        statistic: Stats.MAXIMUM,
        label: `${name}: oldest message age`,
      }),
    );
  }

  poisonMessages(): Metric[] {
    return this.sources.poisonQueues.map(({ name, queue }) =>
      queue.metricApproximateNumberOfMessagesVisible({
        period: PERIOD,
        statistic: Stats.MAXIMUM,
        label: `${name}: poison messages`,
      }),
    );
  }

  lambda(which: "api" | "delivery"): { errors: Metric; throttles: Metric; invocations: Metric; duration: Metric } {
    const fn = which === "api" ? this.sources.apiFunction : this.sources.deliveryFunction;
    return {
      errors: fn.metricErrors({ period: PERIOD, statistic: Stats.SUM }),
      throttles: fn.metricThrottles({ period: PERIOD, statistic: Stats.SUM }),
      invocations: fn.metricInvocations({ period: PERIOD, statistic: Stats.SUM }),
      duration: fn.metricDuration({ period: PERIOD, statistic: Stats.p(99) }),
    };
  }

  /** Share of delivery-Lambda invocations that crashed (not failed destinations: those are Herald's job). */
  deliveryErrorRate(): IMetric {
    const { errors, invocations } = this.lambda("delivery");
    return new MathExpression({
      expression: "IF(invocations > 0, 100 * errors / invocations, 0)",
      usingMetrics: { errors, invocations },
      period: PERIOD,
      label: "Delivery Lambda error rate (%)",
    });
  }

  /** Reads and writes of the table and its index refused for want of provisioned capacity, if provisioned. */
  tableThrottles(): IMetric | undefined {
    const provisioned = this.sources.provisionedTable;
    if (!provisioned) return undefined;
    const { table, indexNames } = provisioned;
    const targets = [{}, ...indexNames.map((name) => ({ GlobalSecondaryIndexName: name }))];
    const usingMetrics = Object.fromEntries(
      targets.flatMap((dimensions, i) =>
        ["ReadThrottleEvents", "WriteThrottleEvents"].map((metricName) => [
          `${metricName === "ReadThrottleEvents" ? "r" : "w"}${i}`,
          table.metric(metricName, {
            dimensionsMap: { TableName: table.tableName, ...dimensions },
            statistic: Stats.SUM,
            period: PERIOD,
          }),
        ]),
      ),
    );
    return new MathExpression({
      expression: Object.keys(usingMetrics)
        .map((id) => `FILL(${id}, 0)`)
        .join(" + "),
      usingMetrics,
      period: PERIOD,
      label: "DynamoDB throttled reads and writes (table and index)",
    });
  }

  api4xx = (): Metric => this.sources.api.metricClientError({ period: PERIOD, statistic: Stats.SUM });
  api5xx = (): Metric => this.sources.api.metricServerError({ period: PERIOD, statistic: Stats.SUM });

  /**
   * The Function URL's answers, when it has one: its requests pass no API Gateway stage, so the two above
   * do not count them ("Monitoring Lambda function URLs", Lambda Developer Guide: Url4xxCount and
   * Url5xxCount in AWS/Lambda by FunctionName, best read as a Sum).
   */
  functionUrlResponses = (): Metric[] =>
    this.sources.functionUrl
      ? (["Url4xxCount", "Url5xxCount"] as const).map((name) =>
          this.sources.apiFunction.metric(name, {
            period: PERIOD,
            statistic: Stats.SUM,
            label: `Function URL ${name === "Url4xxCount" ? "4xx" : "5xx"}`,
          }),
        )
      : [];
}
