// Emulated AWS is the stack: what `npm run start:aws-local` applies to its emulators must be what the
// synthesized template deploys. Each value is read back from the emulators themselves (fauxqs's queue
// attributes, the Scheduler stand-in's schedules, the Lambda environment's effect on the API), and the
// template is synthesized here independently, with the props the variables stand for.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { GetQueueAttributesCommand, ListQueuesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { Duration } from "aws-cdk-lib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EMULATOR_CREDENTIALS, EMULATOR_REGION } from "../../../emulation/emulators.ts";
import { startAwsLocal, type AwsLocalHerald } from "../../../emulation/emulated-aws-server.ts";
import { tempDir } from "../../support/herald.ts";
import { synthHerald } from "../../cdk/synth.ts";

type Resource = { Type: string; Properties: Record<string, unknown> };

describe("start:aws-local configured from the stack it would deploy", () => {
  let herald: AwsLocalHerald;
  let dataDir: string;
  let resources: Resource[];
  beforeAll(async () => {
    dataDir = tempDir();
    // A prop-backed variable (maxDeliveryTimeout) changes the stack, and so the emulation.
    herald = await startAwsLocal({ port: 0, dataDir, env: { HERALD_MAX_TIMEOUT: "30s" } });
    const { template } = synthHerald({ destinationPolicy: "any", maxDeliveryTimeout: Duration.seconds(30) });
    resources = Object.values(template.toJSON().Resources as Record<string, Resource>);
  }, 60_000);
  afterAll(async () => {
    await herald.close();
  });

  const ofType = (type: string): Resource[] => resources.filter((r) => r.Type === type);

  it("sets each queue's attributes as the template does (size, visibility, retention, redrive, FIFO)", async () => {
    const sqs = new SQSClient({
      endpoint: herald.emulators.sqsEndpoint,
      region: EMULATOR_REGION,
      credentials: EMULATOR_CREDENTIALS,
    });
    const { QueueUrls = [] } = await sqs.send(new ListQueuesCommand({}));
    const attributesOf = async (url: string) =>
      (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["All"] }))).Attributes ?? {};
    const all = await Promise.all(QueueUrls.map(attributesOf));
    const byArn = (arn: unknown) => all.find((a) => a.QueueArn === arn) ?? {};
    sqs.destroy();

    // The standard delivery queue and the FIFO queue, each with its redrive queue, as the template has them.
    for (const [url, fifo] of [
      [herald.emulators.queueUrl, false],
      [herald.emulators.orderedQueueUrl, true],
    ] as const) {
      const emulated = all.find((a) => a.QueueArn?.endsWith(`:${url.split("/").pop() as string}`));
      const [template] = ofType("AWS::SQS::Queue").filter(
        (q) => q.Properties.RedrivePolicy && (q.Properties.FifoQueue === true) === fifo,
      );
      const p = template?.Properties as Record<string, unknown>;
      expect(emulated?.FifoQueue === "true").toBe(fifo);
      expect(Number(emulated?.MaximumMessageSize)).toBe(p.MaximumMessageSize ?? 262_144);
      expect(Number(emulated?.VisibilityTimeout)).toBe(p.VisibilityTimeout);
      expect(p.VisibilityTimeout).toBe(6 * (30 + 60)); // it follows HERALD_MAX_TIMEOUT, as on AWS
      expect(Number(emulated?.MessageRetentionPeriod)).toBe(p.MessageRetentionPeriod ?? 345_600);
      if (fifo) {
        expect(emulated?.ContentBasedDeduplication).toBe(String(p.ContentBasedDeduplication));
        expect(emulated?.DeduplicationScope).toBe(p.DeduplicationScope);
        expect(emulated?.FifoThroughputLimit).toBe(p.FifoThroughputLimit);
      }
      const redrive = JSON.parse(emulated?.RedrivePolicy as string) as Record<string, unknown>;
      expect(Number(redrive.maxReceiveCount)).toBe((p.RedrivePolicy as { maxReceiveCount: number }).maxReceiveCount);
      const poison = byArn(redrive.deadLetterTargetArn);
      expect(poison.FifoQueue === "true").toBe(fifo);
      const [templatePoison] = ofType("AWS::SQS::Queue").filter(
        (q) => !q.Properties.RedrivePolicy && (q.Properties.FifoQueue === true) === fifo,
      );
      expect(Number(poison.MessageRetentionPeriod)).toBe(templatePoison?.Properties.MessageRetentionPeriod ?? 345_600);
    }
  });

  it("polls as the event source mapping does, and gives each function its timeout and memory", () => {
    // One mapping per queue: the standard queue's and the FIFO queue's (told apart by their batch size).
    const mappings = ofType("AWS::Lambda::EventSourceMapping").map((r) => r.Properties);
    expect(mappings).toHaveLength(2);
    const asSettings = (m: Record<string, unknown>) => ({
      batchSize: m.BatchSize,
      batchingWindowSec: m.MaximumBatchingWindowInSeconds ?? 0,
      reportBatchItemFailures: (m.FunctionResponseTypes as string[]).includes("ReportBatchItemFailures"),
      maximumConcurrency: (m.ScalingConfig as { MaximumConcurrency: number }).MaximumConcurrency,
    });
    expect(mappings.map(asSettings)).toContainEqual(herald.stack.deliveryMapping);
    expect(mappings.map(asSettings)).toContainEqual(herald.stack.orderedMapping);
    expect(herald.stack.orderedMapping.batchSize).toBe(10);
    expect(herald.stack.deliveryMapping.batchSize).toBe(10);
    const functions = ofType("AWS::Lambda::Function").filter(
      (f) => (f.Properties.Environment as { Variables?: { HERALD_TABLE?: unknown } })?.Variables?.HERALD_TABLE,
    );
    expect(functions.map((f) => f.Properties.Timeout).sort()).toEqual(
      [herald.stack.api.timeoutSec, herald.stack.delivery.timeoutSec].sort(),
    );
    expect(herald.stack.delivery.timeoutSec).toBe(30 + 60);
    expect(herald.stack.api.timeoutSec).toBe(29);
    for (const fn of functions) expect(fn.Properties.MemorySize).toBe(herald.stack.delivery.memoryMb);
  });

  it("runs the handlers with the template's environment", async () => {
    const functions = ofType("AWS::Lambda::Function").filter(
      (f) => (f.Properties.Environment as { Variables?: { HERALD_TABLE?: unknown } })?.Variables?.HERALD_TABLE,
    );
    const literal = (f: Resource) =>
      Object.fromEntries(
        Object.entries((f.Properties.Environment as { Variables: Record<string, unknown> }).Variables).filter(
          ([, v]) => typeof v === "string",
        ),
      );
    for (const fn of functions) expect(herald.stack.delivery.environment).toEqual(literal(fn));
    // Powertools reads its service (the metrics' dimension: the stack's name) from the handlers' process.
    expect(process.env.POWERTOOLS_SERVICE_NAME).toBe(herald.stack.delivery.environment.POWERTOOLS_SERVICE_NAME);
    expect(process.env.POWERTOOLS_SERVICE_NAME).toBe("Herald");
    // The effect, through the API: the template's HERALD_MAX_TIMEOUT (30 s) is the limit the Lambda applies.
    const res = await fetch(`${herald.url}/v2/publish/http://127.0.0.1:9/x`, {
      method: "POST",
      headers: { Authorization: `Bearer ${herald.token}`, "Upstash-Timeout": "31s" },
      body: "x",
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("at most 30s");
  });

  it("plays the HTTP API's quotas: 10240 bytes of request line and header values", async () => {
    const headers = { Authorization: `Bearer ${herald.token}` };
    const ok = await fetch(`${herald.url}/v2/keys`, { headers: { ...headers, "X-Pad": "p".repeat(9_000) } });
    expect(ok.status).toBe(200);
    const over = await fetch(`${herald.url}/v2/keys`, { headers: { ...headers, "X-Pad": "p".repeat(10_300) } });
    expect(over.status).toBe(431);
    expect(await over.json()).toEqual({ message: expect.any(String) });
  });

  it("refuses settings the construct refuses, leaving nothing running and the data directory free", async () => {
    const dir = tempDir();
    await expect(startAwsLocal({ port: 0, dataDir: dir, env: { HERALD_MAX_BODY_BYTES: "5000000" } })).rejects.toThrow(
      /maxBodyBytes/,
    );
    const again = await startAwsLocal({ port: 0, dataDir: dir });
    await again.close();
  }, 60_000);

  it("creates the stack's schedules in the stack's schedule group", () => {
    const [group] = ofType("AWS::Scheduler::ScheduleGroup");
    const names = ofType("AWS::Scheduler::Schedule").map((s) => s.Properties.Name);
    const created = JSON.parse(readFileSync(join(dataDir, "schedules.json"), "utf8")) as {
      Name: string;
      GroupName: string;
    }[];
    expect(herald.stack.scheduleGroupName).toBe(group?.Properties.Name);
    for (const name of names) {
      expect(created).toContainEqual(expect.objectContaining({ Name: name, GroupName: group?.Properties.Name }));
    }
  });
});
