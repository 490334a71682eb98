// The bench's Function URL figure (per_million.total_via_function_url) takes out what API Gateway bills —
// its request charge and its stage's access log — and nothing else of a workload.
import { expect, it } from "vitest";
import { Meter } from "../../../bench/aws-cost/meter.ts";
import { summarize } from "../../../bench/aws-cost/pricing.ts";
import type { StackFacts } from "../../../bench/aws-cost/stack.ts";

const facts: StackFacts = {
  memoryMb: { api: 256, deliver: 256 },
  retentionDays: 7,
  logRetentionDays: 30,
  platformLogged: false,
  accessLogFormat: "",
  accessLogInfrequentAccess: true,
  resources: {},
  idle: [],
  customMetrics: [],
};

/** A workload of `messages` publishes: DynamoDB writes, SQS sends, Lambda time and handler log lines. */
function herald(messages: number): Meter {
  const m = new Meter();
  m.writeUnits = 2 * messages;
  m.readUnits = 1.5 * messages;
  m.sqsBilled = messages;
  m.lambda.api = { invocations: messages, billedMs: 12 * messages, rawMs: 12 * messages, billedMsAtAws: 20 * messages };
  m.functionLogBytes = 250 * messages;
  m.functionLogEvents = messages;
  return m;
}

/** The same, reached through API Gateway: a metered request and an access log line each. */
function throughApiGateway(messages: number): Meter {
  const m = herald(messages);
  m.apiRequests = messages;
  m.apiMetered = messages;
  m.accessLogBytes = 220 * messages;
  return m;
}

const priced = (m: Meter) => summarize("test", m, facts, 1000, 1000, 0, 1).per_million;

it("prices a workload on the Function URL as the same workload without API Gateway's request and access log", () => {
  const gateway = priced(throughApiGateway(1000));
  const direct = priced(herald(1000));
  expect(gateway.total_via_function_url).toBeCloseTo(direct.total, 3);
  // API Gateway's request is $1.00 a million; its access log lines a few cents more.
  expect(gateway.total - gateway.total_via_function_url).toBeGreaterThan(1.0);
  expect(gateway.total - gateway.total_via_function_url).toBeLessThan(1.2);
  // Without API Gateway traffic there is nothing to take out.
  expect(direct.total_via_function_url).toBeCloseTo(direct.total, 6);
});
