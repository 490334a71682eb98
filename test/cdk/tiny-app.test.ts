import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { tempDir } from "../support/herald.ts";

const run = promisify(execFile);

describe("examples/tiny-cdk-app", () => {
  it("synthesizes a team's own stack with Herald in it, cdk-nag clean, as the CDK CLI runs it", async () => {
    const out = tempDir("tiny-cdk-app-");
    // What `npx cdk synth` does: run the app with an output directory and context (bundling skipped here).
    await run(process.execPath, ["examples/tiny-cdk-app/app.ts"], {
      env: { ...process.env, CDK_OUTDIR: out, CDK_CONTEXT_JSON: JSON.stringify({ "aws:cdk:bundling-stacks": [] }) },
    });
    const template = JSON.parse(readFileSync(join(out, "TeamServices.template.json"), "utf8")) as {
      Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
    };
    const types = Object.values(template.Resources).map((r) => r.Type);
    for (const type of [
      "AWS::ApiGatewayV2::Api",
      "AWS::DynamoDB::GlobalTable",
      "AWS::SQS::Queue",
      "AWS::Scheduler::ScheduleGroup",
    ]) {
      expect(types).toContain(type);
    }
    expect(types.filter((t) => t === "AWS::Lambda::Function")).toHaveLength(2);
    const report = JSON.parse(readFileSync(join(out, "validation-report.json"), "utf8")) as {
      pluginReports: { violations: unknown[] }[];
    };
    expect(report.pluginReports[0]?.violations).toEqual([]);
    expect(readdirSync(out)).toContain("manifest.json");
  }, 60_000);
});

describe("bin/herald.ts", () => {
  it("takes -c tableCapacity as the CLI passes it (a JSON string) and puts the table on provisioned capacity", async () => {
    const out = tempDir("herald-app-");
    const context = {
      "aws:cdk:bundling-stacks": [],
      // `npx cdk synth -c tableCapacity='{"maxWriteUnits":300,"maxReadUnits":600}'` gives the string as is.
      tableCapacity: '{"maxWriteUnits":300,"maxReadUnits":600}',
    };
    await run(process.execPath, ["bin/herald.ts"], {
      env: { ...process.env, CDK_OUTDIR: out, CDK_CONTEXT_JSON: JSON.stringify(context) },
    });
    const template = JSON.parse(readFileSync(join(out, "Herald.template.json"), "utf8")) as {
      Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
    };
    const table = Object.values(template.Resources).find((r) => r.Type === "AWS::DynamoDB::GlobalTable");
    expect(table?.Properties).toMatchObject({
      BillingMode: "PROVISIONED",
      WriteProvisionedThroughputSettings: { WriteCapacityAutoScalingSettings: { MinCapacity: 1, MaxCapacity: 300 } },
      Replicas: [
        {
          ReadProvisionedThroughputSettings: { ReadCapacityAutoScalingSettings: { MinCapacity: 1, MaxCapacity: 600 } },
        },
      ],
    });
  }, 60_000);
});
