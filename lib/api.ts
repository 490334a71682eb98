import { Duration, RemovalPolicy, type Stack } from "aws-cdk-lib";
import { AccessLogFormat } from "aws-cdk-lib/aws-apigateway";
import { HttpApi, HttpStage, LogGroupLogDestination, type ThrottleSettings } from "aws-cdk-lib/aws-apigatewayv2";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import { FunctionUrlAuthType, type Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import { LogGroup, LogGroupClass, type RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { consoleBuildCommands } from "../console/build-options.ts";
import { ACCESS_LOG_FORMAT } from "./access-log-format.ts";
import { heraldFunction, type HeraldLogLevel } from "./functions.ts";

export interface HeraldApiProps {
  environment: Record<string, string>;
  logRetention: RetentionDays;
  logLevel: HeraldLogLevel;
  /** Log class of the access log group (HeraldProps.accessLogClass). */
  accessLogClass: LogGroupClass;
  /** The stage's request rate and burst (API Gateway answers 429 above them, before any Lambda runs). */
  throttle: Required<ThrottleSettings>;
  /** Reserved concurrency of the API Lambda, if any. */
  reservedConcurrency?: number;
}

/**
 * The producer endpoint: an API Gateway HTTP API (the cheapest API Gateway) whose every route goes to
 * the API Lambda; authentication is Herald's token, checked in the Lambda as QStash does.
 */
export class HeraldApi extends Construct {
  readonly function: LambdaFunction;
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;

  constructor(scope: Construct, id: string, props: HeraldApiProps) {
    super(scope, id);
    this.function = heraldFunction(this, "Handler", {
      handlerFile: "api.ts",
      description: "Herald API: the QStash-compatible /v2 routes and the web console (/console)",
      timeout: Duration.seconds(29),
      environment: props.environment,
      logRetention: props.logRetention,
      logLevel: props.logLevel,
      // The console's page, script and stylesheet, next to index.js (read on the first GET /console).
      afterBundling: (inputDir, outputDir) => consoleBuildCommands(inputDir, `${outputDir}/console`),
      ...(props.reservedConcurrency === undefined ? {} : { reservedConcurrency: props.reservedConcurrency }),
    });
    this.httpApi = new HttpApi(this, "HttpApi", {
      description: "Herald: QStash-compatible messaging",
      defaultIntegration: new HttpLambdaIntegration("Lambda", this.function),
      createDefaultStage: false,
    });
    // CloudFormation does not update a log group's class in place (the update fails), so each class has a
    // group of its own: switching creates the other group, and CloudFormation deletes the one left out.
    const standard = props.accessLogClass === LogGroupClass.STANDARD;
    const accessLogs = new LogGroup(this, standard ? "AccessLogs" : "AccessLogsInfrequentAccess", {
      retention: props.logRetention,
      logGroupClass: props.accessLogClass,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new HttpStage(this, "Stage", {
      httpApi: this.httpApi,
      stageName: "$default",
      autoDeploy: true,
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(ACCESS_LOG_FORMAT),
      },
      // A flood (of unauthenticated requests too) is cut at the stage: it cannot invoke the API Lambda
      // without bound, nor use up the account's concurrency that deliveries need.
      throttle: props.throttle,
    });
  }

  /**
   * A Lambda Function URL on the API Lambda: payload 2.0 like the HTTP API, but with the request path as
   * sent (HTTP APIs decode it). Authentication is Herald's token, as on the HTTP API.
   */
  addRawPathEndpoint(): string {
    return this.function.addFunctionUrl({ authType: FunctionUrlAuthType.NONE }).url;
  }

  /** The URL producers use as `baseUrl` / `QSTASH_URL`. */
  url(stack: Stack): string {
    return `https://${this.httpApi.apiId}.execute-api.${stack.region}.${stack.urlSuffix}`;
  }
}
