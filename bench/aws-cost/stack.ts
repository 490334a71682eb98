// Reading the CDK synth: the stack's memory sizes, retention and log settings (the access log's format too), and its resources (what
// bills while idle, idle.ts).
import type { Fn } from "./meter.ts";
import type { IdleItem } from "./result.ts";

/** What the synthesized stack sets that the bill depends on. */
export interface StackRead {
  memoryMb: Record<Fn, number>;
  retentionDays: number;
  logRetentionDays: number;
  /** Whether the Lambdas log their platform records (start, report): billed log bytes per invocation. */
  platformLogged: boolean;
  /** The API stage's access log format: one line of it per API request. */
  accessLogFormat: string;
  /** Whether the access log group is of the Infrequent Access class (half Standard's ingestion price). */
  accessLogInfrequentAccess: boolean;
  resources: Record<string, CfnResource>;
}

/** The stack as read, plus what the run works out from it: the idle items and the custom metrics. */
export interface StackFacts extends StackRead {
  idle: IdleItem[];
  customMetrics: string[];
}

export type CfnResource = { Type: string; Properties?: Record<string, unknown> };

/** Synthesizes HeraldStack in process with bundling skipped (as test/cdk does) and reads what the bench needs. */
export async function readStack(): Promise<StackRead> {
  const { App } = await import("aws-cdk-lib");
  const { Template } = await import("aws-cdk-lib/assertions");
  const { HeraldStack } = await import("../../lib/herald-stack.ts");
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new HeraldStack(app, "HeraldCost", { env: { account: "123456789012", region: "us-east-1" } });
  const resources = (Template.fromStack(stack).toJSON() as { Resources: Record<string, CfnResource> }).Resources;
  const fnProps = (fn: { node: { defaultChild?: unknown } }): Record<string, unknown> => {
    const id = stack.getLogicalId(fn.node.defaultChild as Parameters<typeof stack.getLogicalId>[0]);
    return resources[id]?.Properties ?? {};
  };
  const api = fnProps(stack.herald.api.function);
  const deliver = fnProps(stack.herald.delivery.function);
  const env = (deliver.Environment as { Variables?: Record<string, string> } | undefined)?.Variables ?? {};
  const retention = /^(\d+)s$/.exec(env.HERALD_RETENTION ?? "")?.[1];
  const logGroups = Object.values(resources).filter((r) => r.Type === "AWS::Logs::LogGroup");
  const logRetention = Math.max(...logGroups.map((r) => Number(r.Properties?.RetentionInDays ?? 0)), 0);
  // Lambda's platform records (start, report) are INFO: a system log level of WARN or above drops them.
  const systemLevel = (fn: Record<string, unknown>) =>
    (fn.LoggingConfig as { SystemLogLevel?: string } | undefined)?.SystemLogLevel ?? "INFO";
  const stages = Object.values(resources).filter((r) => r.Type === "AWS::ApiGatewayV2::Stage");
  const accessLog = stages[0]?.Properties?.AccessLogSettings as
    { Format?: string; DestinationArn?: { "Fn::GetAtt"?: [string, string] } } | undefined;
  const accessLogGroup = resources[accessLog?.DestinationArn?.["Fn::GetAtt"]?.[0] ?? ""];
  if (stages.length !== 1 || !accessLog?.Format || accessLogGroup?.Type !== "AWS::Logs::LogGroup") {
    throw new Error("the bench expects one API stage with an access log group of the stack's");
  }
  return {
    accessLogFormat: accessLog.Format,
    accessLogInfrequentAccess: accessLogGroup.Properties?.LogGroupClass === "INFREQUENT_ACCESS",
    platformLogged: [api, deliver].some((fn) => ["DEBUG", "INFO"].includes(systemLevel(fn))),
    memoryMb: { api: Number(api.MemorySize ?? 128), deliver: Number(deliver.MemorySize ?? 128) },
    retentionDays: retention ? Number(retention) / 86_400 : 7,
    logRetentionDays: logRetention || 3653,
    resources,
  };
}
