import { Dashboard, GraphWidget, TextWidget } from "aws-cdk-lib/aws-cloudwatch";
import { Construct } from "constructs";
import type { HeraldMetrics } from "./metrics.ts";

/** One CloudWatch dashboard: message flow, latency, queues, Lambdas and the API. */
export class HeraldDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: { metrics: HeraldMetrics }) {
    super(scope, id);
    const m = props.metrics;
    const api = m.lambda("api");
    const delivery = m.lambda("delivery");
    this.dashboard = new Dashboard(this, "Dashboard", {
      widgets: [
        [
          new TextWidget({
            markdown: "# Herald\nMessages published and delivered, queues, Lambdas and the API.",
            width: 24,
            height: 2,
          }),
        ],
        [
          new GraphWidget({
            title: "Messages",
            left: [m.published(), m.delivered(), m.retried(), m.failed()],
            width: 12,
          }),
          new GraphWidget({ title: "Delivery latency", left: [m.deliveryLagP50(), m.deliveryLagP99()], width: 12 }),
        ],
        [
          new GraphWidget({ title: "Oldest message age per queue (s)", left: m.oldestMessageAge(), width: 12 }),
          new GraphWidget({ title: "Poison messages (redrive queues)", left: m.poisonMessages(), width: 12 }),
        ],
        [
          new GraphWidget({
            title: "Lambda errors and throttles",
            left: [
              api.errors.with({ label: "API errors" }),
              api.throttles.with({ label: "API throttles" }),
              delivery.errors.with({ label: "Delivery errors" }),
              delivery.throttles.with({ label: "Delivery throttles" }),
            ],
            width: 12,
          }),
          new GraphWidget({
            title: "Lambda duration p99 (ms)",
            left: [api.duration.with({ label: "API" }), delivery.duration.with({ label: "Delivery" })],
            width: 12,
          }),
        ],
        [
          new GraphWidget({
            title: "API responses",
            left: [m.api4xx(), m.api5xx(), ...m.functionUrlResponses()],
            width: 24,
          }),
        ],
      ],
    });
    const throttles = m.tableThrottles();
    if (throttles)
      this.dashboard.addWidgets(new GraphWidget({ title: "DynamoDB throttles", left: [throttles], width: 24 }));
  }
}
