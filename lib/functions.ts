import { fileURLToPath } from "node:url";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import {
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

export interface HeraldFunctionProps {
  /** File under lambdas/handlers/, e.g. "api.ts". */
  handlerFile: string;
  description: string;
  timeout: Duration;
  environment: Record<string, string>;
  logRetention: RetentionDays;
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
    environment: props.environment,
    logGroup,
    loggingFormat: LoggingFormat.JSON,
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
