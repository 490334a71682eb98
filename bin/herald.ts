// The CDK app: `npx cdk synth`, `npx cdk deploy`. Every synth runs cdk-nag's AwsSolutions checks.
import { App, Validations } from "aws-cdk-lib";
import { LogGroupClass } from "aws-cdk-lib/aws-logs";
import { AwsSolutionsChecks } from "cdk-nag";
import { HeraldStack } from "../lib/herald-stack.ts";
import type { HeraldProps, TableProvisionedCapacity } from "../lib/herald-props.ts";

const app = new App();
const dashboard: unknown = app.node.tryGetContext("dashboard"); // `-c dashboard=false` gives the string
const messageRecords: unknown = app.node.tryGetContext("messageRecords"); // `-c messageRecords=lean`
const rawPathEndpoint: unknown = app.node.tryGetContext("rawPathEndpoint"); // `-c rawPathEndpoint=true`
const accessLogClass: unknown = app.node.tryGetContext("accessLogClass"); // `-c accessLogClass=standard`
// `-c tableCapacity='{"maxWriteUnits":400,"maxReadUnits":800}'` (JSON, the prop's fields) or `onDemand`.
const tableCapacity: unknown = app.node.tryGetContext("tableCapacity");
new HeraldStack(app, app.node.tryGetContext("stackName") ?? "Herald", {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  herald: {
    dashboard: dashboard !== false && dashboard !== "false",
    rawPathEndpoint: rawPathEndpoint === true || rawPathEndpoint === "true",
    ...(messageRecords === undefined ? {} : { messageRecords: messageRecords as "full" | "lean" }),
    ...(tableCapacity === undefined ? {} : { tableCapacity: capacityOf(tableCapacity) }),
    ...(accessLogClass === undefined ? {} : { accessLogClass: logClassOf(accessLogClass) }),
  },
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));

function capacityOf(value: unknown): NonNullable<HeraldProps["tableCapacity"]> {
  if (value === "onDemand") return value;
  let parsed: unknown = value;
  if (typeof value === "string") {
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new Error(`tableCapacity: "onDemand" or a JSON object, not ${value}`);
    }
  }
  if (typeof parsed !== "object" || parsed === null) throw new Error('tableCapacity: "onDemand" or a JSON object');
  return parsed as TableProvisionedCapacity;
}

function logClassOf(value: unknown): NonNullable<HeraldProps["accessLogClass"]> {
  if (value === "standard") return LogGroupClass.STANDARD;
  if (value === "infrequentAccess") return LogGroupClass.INFREQUENT_ACCESS;
  throw new Error(`accessLogClass: "standard" or "infrequentAccess", not ${String(value)}`);
}
