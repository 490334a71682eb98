import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";

// One logger and one metrics object per container. Metrics are flushed once per invocation by the
// logMetrics middleware (one EMF line per invocation, not per message: CloudWatch bills the bytes).
export const logger = new Logger({ serviceName: "herald" });
export const metrics = new Metrics({ namespace: "Herald", serviceName: "herald" });

export const logError = (message: string, error: unknown): void => logger.error(message, error as Error);
