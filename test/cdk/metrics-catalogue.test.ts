// What the stack charts and alarms on in Herald's namespace is what the handlers emit: every such metric
// is in the catalogue (lambdas/handlers/metrics-catalogue.ts), with its dimensions.
import { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { METRIC_NAMES, METRICS_NAMESPACE, metricDimensions } from "../../lambdas/handlers/metrics-catalogue.ts";
import { HeraldStack } from "../../lib/herald-stack.ts";
import { testApp } from "./synth.ts";

type Resource = { Type: string; Properties?: Record<string, unknown> };
interface UsedMetric {
  where: string;
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
}

let resources: Resource[];
/** A second deployment in the same account and region (as staging beside production). */
let staging: Resource[];

beforeAll(() => {
  const app = testApp();
  const env = { account: "123456789012", region: "eu-west-1" };
  const template = (stack: HeraldStack) =>
    Object.values((Template.fromStack(stack).toJSON() as { Resources: Record<string, Resource> }).Resources);
  const production = new HeraldStack(app, "Herald", { env });
  const second = new HeraldStack(app, "HeraldStaging", { env });
  resources = template(production);
  staging = template(second);
}, 120_000);

const ofType = (type: string, from = resources) => from.filter((r) => r.Type === type);

/** The dashboard's metric lines: [namespace, name, dimension, value, …, options]; tokens in the body read as "". */
function dashboardMetrics(): UsedMetric[] {
  return ofType("AWS::CloudWatch::Dashboard").flatMap((dashboard) => {
    const parts = (dashboard.Properties?.DashboardBody as { "Fn::Join": [string, unknown[]] })["Fn::Join"][1];
    const body = JSON.parse(parts.map((part) => (typeof part === "string" ? part : "")).join("")) as {
      widgets: { properties?: { metrics?: unknown[][] } }[];
    };
    return body.widgets.flatMap((widget) =>
      (widget.properties?.metrics ?? []).map((line) => {
        const [namespace, name, ...rest] = line.filter((cell) => typeof cell === "string") as string[];
        const dimensions: Record<string, string> = {};
        for (let i = 0; i + 1 < rest.length; i += 2) dimensions[rest[i] as string] = rest[i + 1] as string;
        return { where: "dashboard", namespace: namespace as string, name: name as string, dimensions };
      }),
    );
  });
}

/** Every metric an alarm reads, directly or inside metric math. */
function alarmMetrics(from = resources): UsedMetric[] {
  const found: UsedMetric[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (value === null || typeof value !== "object") return;
    const node = value as Record<string, unknown>;
    if (typeof node.Namespace === "string" && typeof node.MetricName === "string") {
      const dimensions = (node.Dimensions ?? []) as { Name: string; Value: unknown }[];
      found.push({
        where: "alarm",
        namespace: node.Namespace,
        name: node.MetricName,
        dimensions: Object.fromEntries(dimensions.map((d) => [d.Name, typeof d.Value === "string" ? d.Value : ""])),
      });
    }
    Object.values(node).forEach(visit);
  };
  ofType("AWS::CloudWatch::Alarm", from).forEach((alarm) => visit(alarm.Properties));
  return found;
}

describe("the metrics catalogue", () => {
  it("has every metric the dashboard charts and the alarms watch in Herald's namespace, with its dimensions", () => {
    const used = [...dashboardMetrics(), ...alarmMetrics()];
    const herald = used.filter((m) => m.namespace === METRICS_NAMESPACE);
    // Both kinds are there, so an empty match cannot pass this test.
    expect(herald.filter((m) => m.where === "dashboard").length).toBeGreaterThan(0);
    expect(herald.filter((m) => m.where === "alarm").length).toBeGreaterThan(0);
    for (const metric of herald) {
      expect(METRIC_NAMES, `${metric.where}: ${metric.name}`).toContain(metric.name);
      expect(metric.dimensions, `${metric.where}: ${metric.name}`).toEqual(metricDimensions("Herald"));
    }
    // Everything else is one of AWS's own metrics (SQS, Lambda, API Gateway).
    for (const metric of used.filter((m) => m.namespace !== METRICS_NAMESPACE)) {
      expect(metric.namespace).toMatch(/^AWS\//);
    }
  });

  it("is what the Lambdas are configured to emit under: the namespace, and their stack's name as service", () => {
    for (const [from, stackName] of [
      [resources, "Herald"],
      [staging, "HeraldStaging"],
    ] as const) {
      const functions = ofType("AWS::Lambda::Function", from).filter(
        (fn) => (fn.Properties?.Environment as { Variables?: Record<string, unknown> })?.Variables?.HERALD_TABLE,
      );
      expect(functions).toHaveLength(2);
      for (const fn of functions) {
        const variables = (fn.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
        expect(variables.POWERTOOLS_METRICS_NAMESPACE).toBe(METRICS_NAMESPACE);
        expect(variables.POWERTOOLS_SERVICE_NAME).toBe(stackName);
      }
    }
  });

  it("keeps two deployments in one account apart: each one's alarms read only its own series", () => {
    const services = (from: Resource[]) =>
      new Set(
        alarmMetrics(from)
          .filter((m) => m.namespace === METRICS_NAMESPACE)
          .map((m) => m.dimensions.service),
      );
    expect([...services(resources)]).toEqual(["Herald"]);
    expect([...services(staging)]).toEqual(["HeraldStaging"]);
  });
});
