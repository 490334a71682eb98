import { Duration, RemovalPolicy, type Stack } from "aws-cdk-lib";
import { HttpApi, HttpStage, LogGroupLogDestination } from "aws-cdk-lib/aws-apigatewayv2";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import type { Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { heraldFunction } from "./functions.ts";

export interface HeraldApiProps {
  environment: Record<string, string>;
  logRetention: RetentionDays;
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
      description: "Herald API: the QStash-compatible /v2 routes",
      timeout: Duration.seconds(29),
      environment: props.environment,
      logRetention: props.logRetention,
    });
    this.httpApi = new HttpApi(this, "HttpApi", {
      description: "Herald: QStash-compatible messaging",
      defaultIntegration: new HttpLambdaIntegration("Lambda", this.function),
      createDefaultStage: false,
    });
    const accessLogs = new LogGroup(this, "AccessLogs", {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new HttpStage(this, "Stage", {
      httpApi: this.httpApi,
      stageName: "$default",
      autoDeploy: true,
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs) },
    });
  }

  /** The URL producers use as `baseUrl` / `QSTASH_URL`. */
  url(stack: Stack): string {
    return `https://${this.httpApi.apiId}.execute-api.${stack.region}.${stack.urlSuffix}`;
  }
}
