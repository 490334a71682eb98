// What a deployed Herald Lambda sees, with dummy values: its environment (lib/herald.ts and what Lambda
// itself sets) and its invocation context. Nothing may need real values at import time.
import { METRICS_NAMESPACE } from "../../lambdas/handlers/metrics-catalogue.ts";

/** The API token of the stand-in secret (fake-aws.ts), which the API Lambda's first call presents. */
export const API_TOKEN = "hrld_bench";

export const LAMBDA_ENV: Record<string, string> = {
  AWS_REGION: "us-east-1",
  AWS_DEFAULT_REGION: "us-east-1",
  AWS_EXECUTION_ENV: "AWS_Lambda_nodejs24.x",
  AWS_LAMBDA_FUNCTION_NAME: "herald-bench",
  AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "512",
  AWS_LAMBDA_LOG_FORMAT: "JSON",
  AWS_ACCESS_KEY_ID: "ASIABENCHBENCHBENCH0",
  AWS_SECRET_ACCESS_KEY: "bench/bench/bench/bench/bench/bench/benc",
  AWS_SESSION_TOKEN: "bench",
  TZ: ":UTC",
  HERALD_TABLE: "herald-table",
  HERALD_BUCKET: "herald-bodies",
  HERALD_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/herald-deliveries",
  HERALD_QUEUE_ARN: "arn:aws:sqs:us-east-1:123456789012:herald-deliveries",
  HERALD_SCHEDULE_GROUP: "herald",
  HERALD_SCHEDULER_ROLE_ARN: "arn:aws:iam::123456789012:role/herald-scheduler",
  HERALD_SCHEDULE_DLQ_ARN: "arn:aws:sqs:us-east-1:123456789012:herald-deliveries-poison",
  HERALD_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:herald-keys",
  HERALD_RETENTION: "604800s",
  HERALD_MAX_BODY_BYTES: "1048576",
  HERALD_MAX_TIMEOUT: "120s",
  HERALD_BACKOFF_FACTOR: "2",
  HERALD_DESTINATION_POLICY: "public",
  POWERTOOLS_SERVICE_NAME: "Herald", // a deployment's service is its stack's name: bin/herald.ts's default
  POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
  POWERTOOLS_LOG_LEVEL: "INFO",
};

export const LAMBDA_CONTEXT = {
  functionName: "herald-bench",
  functionVersion: "$LATEST",
  invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:herald-bench",
  memoryLimitInMB: "512",
  awsRequestId: "00000000-0000-0000-0000-000000000000",
  logGroupName: "/aws/lambda/herald-bench",
  logStreamName: "bench",
};
