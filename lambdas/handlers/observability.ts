import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import type { MiddlewareObj } from "@middy/core";
import { METRICS, METRICS_NAMESPACE, METRICS_SERVICE, type MetricName } from "./metrics-catalogue.ts";

// One logger and one metrics object per container. Metrics are flushed once per invocation (one EMF
// line per invocation, not per message: CloudWatch bills the bytes).
export const logger = new Logger({ serviceName: METRICS_SERVICE });
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE });

/** Records one of the catalogue's metrics, in the unit the catalogue gives it. */
export function recordMetric(name: MetricName, value: number): void {
  metrics.addMetric(name, METRICS[name].unit, value);
}

export const logError = (message: string, error: unknown): void => logger.error(message, error as Error);

/**
 * Flushes the invocation's metrics, and writes nothing when there are none: Powertools' logMetrics
 * would log a warning line instead, on every API call that records no metric — bytes billed for nothing.
 */
export function flushMetrics(): MiddlewareObj {
  const flush = async (): Promise<void> => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return { after: flush, onError: flush };
}
