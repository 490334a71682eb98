// The metric lines a deployed Lambda writes: under its stack's name as `service` (what the stack's
// dashboard and alarms read, test/cdk/metrics-catalogue.test.ts), one line per invocation.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";

let observability: typeof import("../../../lambdas/handlers/observability.ts");

beforeAll(async () => {
  // As the stack configures a deployment named HeraldStaging; Powertools reads these when first imported.
  vi.stubEnv("POWERTOOLS_SERVICE_NAME", "HeraldStaging");
  vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "false");
  vi.stubEnv("POWERTOOLS_METRICS_NAMESPACE", "Herald");
  observability = await import("../../../lambdas/handlers/observability.ts");
});

afterEach(() => vi.restoreAllMocks());
afterAll(() => vi.unstubAllEnvs());

/** What one invocation's flush writes, as parsed JSON lines. */
async function flushed(record: () => void): Promise<Record<string, unknown>[]> {
  const written: string[] = [];
  const capture = (chunk: unknown) => {
    written.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, "write").mockImplementation(capture);
  vi.spyOn(console, "log").mockImplementation(capture);
  record();
  await observability.flushMetrics().after?.({} as never);
  return written
    .join("\n")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("the Lambdas' metrics", () => {
  it("go out under the deployment's service, one line for all of an invocation's metrics", async () => {
    const lines = await flushed(() => {
      observability.recordMetric("Published", 3);
      observability.recordMetric("ClientErrors", 1);
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      _aws: { CloudWatchMetrics: [{ Namespace: "Herald", Dimensions: [["service"]] }] },
      service: "HeraldStaging",
      Published: 3,
      ClientErrors: 1,
    });
  });

  it("write nothing for an invocation that recorded none", async () => {
    expect(await flushed(() => {})).toEqual([]);
  });
});
