// Destinations with encoded characters (`%2F`, `%3F`, `%25`), through each endpoint Herald offers, as
// README's "Encoded characters in destinations" says: `npm start` and the Function URL (rawPathEndpoint)
// deliver them byte for byte; API Gateway's HTTP API decodes the path first (emulated as its captures
// show, emulation/http-api-path.ts), so there `%2F` arrives as `/` and a `%3F` cuts the path.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAwsLocal, type AwsLocalHerald } from "../../emulation/emulated-aws-server.ts";
import { stackSettings, synthesizeTemplate } from "../../emulation/emulated-stack.ts";
import { startHerald, tempDir, type TestHerald } from "../support/herald.ts";
import { Sink } from "../support/sink.ts";

const CASES = [
  { sent: "/enc/a%2Fb?x=1", viaHttpApi: "/enc/a/b?x=1" },
  { sent: "/enc/c%3Fd", viaHttpApi: "/enc/c" },
  { sent: "/enc/100%25", viaHttpApi: "/enc/100%" },
];

const sink = Sink.forSuite();

/** The path the sink received for the message whose body is `body`. */
async function receivedPath(body: string): Promise<string> {
  await expect.poll(() => sink.received.some((r) => r.body.toString() === body), { timeout: 10_000 }).toBe(true);
  return sink.received.find((r) => r.body.toString() === body)?.path as string;
}

describe("encoded characters in destinations [local]", () => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startHerald({ mode: "local" });
  });
  afterAll(async () => {
    await herald.close();
  });

  it("delivers to the destination byte for byte", async () => {
    for (const { sent } of CASES) {
      const body = `local ${sent}`;
      const res = await fetch(`${herald.server.url}/v2/publish/${sink.url}${sent}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${herald.server.token}` },
        body,
      });
      expect(res.status).toBe(200);
      expect(await receivedPath(body)).toBe(sent);
    }
  });
});

describe("encoded characters in destinations [aws-local]", () => {
  let herald: AwsLocalHerald;
  beforeAll(async () => {
    herald = await startAwsLocal({ port: 0, dataDir: tempDir(), env: { HERALD_RAW_PATH_ENDPOINT: "true" } });
  }, 60_000);
  afterAll(async () => {
    await herald.close();
  });

  const publish = async (baseUrl: string, sent: string, body: string): Promise<void> => {
    const res = await fetch(`${baseUrl}/v2/publish/${sink.url}${sent}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${herald.token}` },
      body,
    });
    expect(res.status).toBe(200);
  };

  it("through the HTTP API endpoint, decodes the path first: %2F arrives as /, %3F cuts it", async () => {
    for (const { sent, viaHttpApi } of CASES) {
      const body = `http-api ${sent}`;
      await publish(herald.url, sent, body);
      expect(await receivedPath(body)).toBe(viaHttpApi);
    }
  });

  it("through the Function URL (rawPathEndpoint), delivers byte for byte", async () => {
    expect(herald.rawPathUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    for (const { sent } of CASES) {
      const body = `function-url ${sent}`;
      await publish(herald.rawPathUrl as string, sent, body);
      expect(await receivedPath(body)).toBe(sent);
    }
  });

  it("has no Function URL unless the stack has one", async () => {
    expect(herald.stack.rawPathEndpoint).toBe(true);
    expect(stackSettings(await synthesizeTemplate({})).rawPathEndpoint).toBe(false);
  });
});
