import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import type { MiddlewareObj } from "@middy/core";
import { METRICS, METRICS_NAMESPACE, METRICS_SERVICE, type MetricName } from "./metrics-catalogue.ts";

// One logger and one metrics object per container. Metrics are flushed once per invocation (one EMF
// line per invocation, not per message: CloudWatch bills the bytes). The service is the deployment's
// (the stack sets POWERTOOLS_SERVICE_NAME): it is the dimension its dashboard and alarms read.
const service = process.env.POWERTOOLS_SERVICE_NAME || METRICS_SERVICE;
export const logger = new Logger({ serviceName: service });
export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: service });

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
