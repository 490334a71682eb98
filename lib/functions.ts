import { fileURLToPath } from "node:url";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import {
  ApplicationLogLevel,
  Architecture,
  LoggingFormat,
  Runtime,
  SystemLogLevel,
  type Function as LambdaFunction,
} from "aws-cdk-lib/aws-lambda";
import { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { HERALD_BUNDLING } from "./bundling.ts";

export type HeraldLogLevel = "DEBUG" | "INFO" | "WARN" | "ERROR";

export interface HeraldFunctionProps {
  /** File under lambdas/handlers/, e.g. "api.ts". */
  handlerFile: string;
  description: string;
  timeout: Duration;
  environment: Record<string, string>;
  logRetention: RetentionDays;
  /** The least severe log line the handler writes and Lambda keeps. */
  logLevel: HeraldLogLevel;
  memorySize?: number;
  reservedConcurrency?: number;
  /** Shell commands run after esbuild, in the bundle's output directory (`outputDir`); `inputDir` is the project. */
  afterBundling?: (inputDir: string, outputDir: string) => string[];
}

/**
 * A Herald Lambda: Node.js 24 on arm64 (cheaper per GB-second), an esbuild-minified bundle (lib/bundling.ts;
 * the AWS SDK v3 comes with the runtime and is left out), JSON logs into a log group with retention.
 */
export function heraldFunction(scope: Construct, id: string, props: HeraldFunctionProps): LambdaFunction {
  const logGroup = new LogGroup(scope, `${id}Logs`, {
    retention: props.logRetention,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  return new NodejsFunction(scope, id, {
    entry: fileURLToPath(new URL(`../lambdas/handlers/${props.handlerFile}`, import.meta.url)),
    handler: "handler",
    description: props.description,
    runtime: Runtime.NODEJS_24_X,
    architecture: Architecture.ARM_64,
    // Both handlers mostly wait on the network: 256 MB holds a batch of ten 1 MiB bodies with room to spare,
    // at half the GB-seconds of 512 (BENCHMARKS.md).
    memorySize: props.memorySize ?? 256,
    ...(props.reservedConcurrency === undefined ? {} : { reservedConcurrentExecutions: props.reservedConcurrency }),
    timeout: props.timeout,
    // Powertools' Logger takes its level from AWS_LAMBDA_LOG_LEVEL before POWERTOOLS_LOG_LEVEL, and with JSON
    // logs Lambda sets that variable to the application log level, INFO unless configured
    // (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html): both must say
    // the same level, or a level other than INFO has no effect.
    environment: { ...props.environment, POWERTOOLS_LOG_LEVEL: props.logLevel },
    logGroup,
    loggingFormat: LoggingFormat.JSON,
    applicationLogLevelV2: ApplicationLogLevel[props.logLevel],
    // Lambda's own start/report records (~400 bytes per invocation) are INFO; CloudWatch bills every byte
    // logged, and the duration and error metrics do not need them.
    systemLogLevelV2: SystemLogLevel.WARN,
    bundling: props.afterBundling
      ? {
          ...HERALD_BUNDLING,
          commandHooks: {
            beforeBundling: () => [],
            beforeInstall: () => [],
            afterBundling: props.afterBundling,
          },
        }
      : HERALD_BUNDLING,
  });
}
