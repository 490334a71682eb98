import { readFileSync } from "node:fs";
import { join } from "node:path";
import { App, Stack, Validations } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { HeraldStack } from "../../lib/herald-stack.ts";
import type { HeraldProps } from "../../lib/herald-props.ts";

interface NagReport {
  pluginReports: {
    pluginName: string;
    violations: { ruleName: string }[];
    suppressedViolations: { ruleName: string }[];
  }[];
}

/** An app as bin/herald.ts builds it, with bundling skipped (the template is what is asserted). */
export function testApp(): App {
  return new App({ context: { "aws:cdk:bundling-stacks": [] } });
}

export function withNag(app: App): App {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

/** Synthesizes a HeraldStack and returns its template plus cdk-nag's report of the whole app. */
export function synthHerald(props: HeraldProps = {}): { stack: HeraldStack; template: Template; nag: NagReport } {
  const app = withNag(testApp());
  const stack = new HeraldStack(app, "Herald", {
    env: { account: "123456789012", region: "eu-west-1" },
    herald: props,
  });
  return { stack, template: Template.fromStack(stack), nag: nagReport(app) };
}

export function nagReport(app: App): NagReport {
  const assembly = app.synth();
  return JSON.parse(readFileSync(join(assembly.directory, "validation-report.json"), "utf8")) as NagReport;
}

export const stackOf = (app: App, id: string, region = "us-east-1"): Stack =>
  new Stack(app, id, { env: { account: "210987654321", region } });
