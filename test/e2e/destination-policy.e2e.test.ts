// The destination policy from outside: a Herald configured like the AWS default (HERALD_DESTINATION_POLICY
// =public), with one allow-listed address, given hostile destinations, callbacks and redirects. Nothing may
// reach the internal server; what is accepted ends FAILED in the DLQ saying why.
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeEachMode, eventually, startHerald, tempDir, type TestHerald } from "../support/herald.ts";
import { spawnHerald } from "../support/process.ts";
import { Sink } from "../support/sink.ts";

interface DlqEntry {
  messageId: string;
  url: string;
  responseStatus?: number;
  error?: string;
}

describeEachMode("destination policy public", (mode) => {
  let herald: TestHerald;
  let internal: Sink; // loopback: what a hostile publisher aims at
  let trusted: Sink; // on the allow-listed address 127.0.0.2
  beforeAll(async () => {
    internal = await Sink.start("127.0.0.1");
    trusted = await Sink.start("127.0.0.2");
    trusted.reply = (request) => {
      if (request.path === "/redirect-metadata") {
        return { status: 302, headers: { Location: "http://169.254.169.254/latest/meta-data/" } };
      }
      if (request.path === "/redirect-internal")
        return { status: 307, headers: { Location: `${internal.url}/stolen` } };
      return { status: 500, body: "down" };
    };
    herald = await startHerald({
      mode,
      env: { HERALD_DESTINATION_POLICY: "public", HERALD_DESTINATION_ALLOW_LIST: "127.0.0.2" },
    });
  });
  afterAll(async () => {
    await herald.close();
    await internal.close();
    await trusted.close();
  });

  const dlq = async (query: string): Promise<DlqEntry[]> => {
    const res = await herald.api(`/v2/dlq?${query}`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { messages: DlqEntry[] }).messages;
  };
  const dlqEntry = (filter: string): Promise<DlqEntry> => eventually(async () => (await dlq(filter))[0]);
  const refusedLoopback =
    /^refused by the destination policy: localhost resolves to (127\.0\.0\.1|::1), a loopback address$/;

  it("accepts a name that resolves to loopback, never connects to it, and fails the message saying why", async () => {
    const url = `http://localhost:${internal.port}/resolved`;
    const { messageId } = await herald.client.publish({ url, body: "secret", retries: 0 });
    const entry = await dlqEntry(`messageId=${messageId}`);
    expect(entry).toMatchObject({ url, error: expect.stringMatching(refusedLoopback) });
    expect(entry.responseStatus ?? 0).toBe(0);
    const failed = await eventually(async () => {
      const { logs } = await herald.client.logs({ filter: { messageId, state: "FAILED" } });
      return logs[0];
    });
    expect((failed as unknown as { error?: string }).error).toMatch(refusedLoopback);
    expect(internal.received).toEqual([]);
  });

  it("sends neither the callback nor the failure callback to loopback: both fail into the DLQ", async () => {
    const callback = `http://localhost:${internal.port}/callback`;
    const failureCallback = `http://localhost:${internal.port}/failure-callback`;
    const { messageId } = await herald.client.publish({
      url: `${trusted.url}/down`,
      body: "x",
      retries: 0,
      callback,
      failureCallback,
    });
    await trusted.waitFor("/down"); // the allow-listed destination is delivered to (and answers 500)
    expect(await dlqEntry(`messageId=${messageId}`)).toMatchObject({ responseStatus: 500 });
    for (const url of [callback, failureCallback]) {
      expect(await dlqEntry(`url=${encodeURIComponent(url)}`)).toMatchObject({
        url,
        error: expect.stringMatching(refusedLoopback),
      });
    }
    expect(internal.received).toEqual([]);
  });

  it("answers 400 at publish for IP literals the policy refuses, however they are spelled", async () => {
    const port = internal.port;
    const publish = (destination: string, headers: Record<string, string> = {}) =>
      herald.api(`/v2/publish/${destination}`, { method: "POST", body: "x", headers });
    const refused: [Promise<Response>, string][] = [
      [
        publish("http://169.254.169.254/latest/meta-data/"),
        "invalid destination url: 169.254.169.254 is the cloud metadata service",
      ],
      [publish(`http://2130706433:${port}/`), "invalid destination url: 127.0.0.1 is a loopback address"],
      [publish(`http://0x7f.1:${port}/`), "invalid destination url: 127.0.0.1 is a loopback address"],
      [
        publish(`http://[::ffff:127.0.0.1]:${port}/`),
        "invalid destination url: [::ffff:7f00:1] is a loopback address (IPv4-mapped)",
      ],
      [publish(`http://[::1]:${port}/`), "invalid destination url: [::1] is a loopback address"],
      // The Lambda runtime API (AWS_LAMBDA_RUNTIME_API).
      [
        publish("http://127.0.0.1:9001/2018-06-01/runtime/invocation/next"),
        "invalid destination url: 127.0.0.1 is a loopback address",
      ],
      [
        publish(`${trusted.url}/ok`, { "Upstash-Callback": `http://127.0.0.1:${port}/cb` }),
        "invalid Upstash-Callback: 127.0.0.1 is a loopback address",
      ],
      [
        publish(`${trusted.url}/ok`, { "Upstash-Failure-Callback": "http://[fd00:ec2::254]/latest/meta-data/" }),
        "invalid Upstash-Failure-Callback: [fd00:ec2::254] is the cloud metadata service",
      ],
      [
        herald.api("/v2/schedules/http://10.0.0.1/hook", { method: "POST", headers: { "Upstash-Cron": "* * * * *" } }),
        "invalid destination url: 10.0.0.1 is a private address",
      ],
      [
        herald.api("/v2/topics/inward/endpoints", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ endpoints: [{ url: `http://0.0.0.0:${port}/` }] }),
        }),
        "invalid endpoints[0].url: 0.0.0.0 is a 'this network' address",
      ],
    ];
    for (const [response, message] of refused) {
      const res = await response;
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: `${message}, refused by the destination policy` });
    }
    // The allow-listed address is accepted as a literal.
    expect((await publish(`http://127.0.0.2:${trusted.port}/literal-ok`, { "Upstash-Retries": "0" })).status).toBe(200);
    expect(internal.received).toEqual([]);
  });

  it("does not follow a redirect from an allowed destination to the metadata service or an internal server", async () => {
    const toMetadata = await herald.client.publish({ url: `${trusted.url}/redirect-metadata`, body: "x", retries: 0 });
    const toInternal = await herald.client.publish({ url: `${trusted.url}/redirect-internal`, body: "x", retries: 0 });
    expect(await dlqEntry(`messageId=${toMetadata.messageId}`)).toMatchObject({
      responseStatus: 302,
      error: "destination answered 302",
    });
    expect(await dlqEntry(`messageId=${toInternal.messageId}`)).toMatchObject({ responseStatus: 307 });
    expect(trusted.at("/redirect-metadata")).toHaveLength(1);
    expect(internal.received).toEqual([]);
  });
});

describeEachMode("the start command's destination policy", (mode) => {
  it("follows HERALD_DESTINATION_POLICY and HERALD_DESTINATION_ALLOW_LIST from the environment", async () => {
    const entry = mode === "local" ? "bin/herald-local.ts" : "bin/herald-aws-local.ts";
    const token = "policy-test-token";
    const herald = await spawnHerald(process.execPath, [entry], {
      PORT: "0",
      HERALD_DATA_DIR: tempDir(),
      HERALD_TOKEN: token,
      HERALD_DESTINATION_POLICY: "public",
      HERALD_DESTINATION_ALLOW_LIST: "10.1.0.0/16",
    });
    try {
      const publish = (url: string) =>
        fetch(`${herald.url}/v2/publish/${url}`, {
          method: "POST",
          headers: { Authorization: `Bearer ${token}`, "Upstash-Delay": "1h" },
        });
      const refused = await publish("http://127.0.0.1:9/x");
      expect(refused.status).toBe(400);
      expect(await refused.json()).toEqual({
        error: "invalid destination url: 127.0.0.1 is a loopback address, refused by the destination policy",
      });
      expect((await publish("http://10.1.2.3/x")).status).toBe(200);
    } finally {
      await herald.kill("SIGTERM");
    }
  });
});
