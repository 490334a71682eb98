import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { describeEachMode, holdAnswers, readMessage, useHeraldWithSink } from "../support/herald.ts";

const run = promisify(execFile);
describeEachMode("publish", (mode) => {
  const setup = useHeraldWithSink({ mode });

  describe("publish to a URL with the official SDK", () => {
    it("delivers the JSON body byte-for-byte with method, forwarded headers and a verifiable signature", async () => {
      const body = '{ "hello": "wörld", "n": [1, 2.50, null] }';
      const url = `${setup.sink.url}/json?a=1&b=two`;
      const res = await setup.herald.client.publish({
        url,
        body,
        method: "PUT",
        headers: { "Content-Type": "application/json", "X-Custom": "custom-value", Authorization: "Bearer downstream" },
      });
      expect(res).toEqual({ messageId: expect.stringMatching(/^msg_/), url });

      const [got] = await setup.sink.waitFor("/json?a=1&b=two");
      expect(got?.method).toBe("PUT");
      expect(got?.body.toString("utf8")).toBe(body);
      expect(got?.headers["content-type"]).toBe("application/json");
      expect(got?.headers["x-custom"]).toBe("custom-value");
      expect(got?.headers.authorization).toBe("Bearer downstream");
      expect(got?.headers["upstash-message-id"]).toBe(res.messageId);
      expect(got?.headers["upstash-retried"]).toBe("0");
      expect(got?.headers["user-agent"]).toBe("Upstash-QStash");
      await expect(
        setup.herald.receiver.verify({ signature: got?.headers["upstash-signature"] as string, body, url }),
      ).resolves.toBe(true);
      // The signature is bound to the exact URL and body.
      await expect(
        setup.herald.receiver.verify({ signature: got?.headers["upstash-signature"] as string, body: `${body} `, url }),
      ).rejects.toThrow();
    });

    it("delivers binary bodies unchanged and signs their exact bytes", async () => {
      const bytes = Buffer.from([0, 255, 1, 254, 0x80, 0x0a, 0x0d]);
      const release = holdAnswers(setup.sink, "/binary", 2000); // in flight, so still readable
      await setup.herald.client.publish({
        url: `${setup.sink.url}/binary`,
        body: new Blob([new Uint8Array(bytes)]),
        headers: { "Content-Type": "application/octet-stream" },
      });
      const [got] = await setup.sink.waitFor("/binary");
      expect(Buffer.compare(got?.body as Buffer, bytes)).toBe(0);
      const claims = JSON.parse(
        Buffer.from((got?.headers["upstash-signature"] as string).split(".")[1] as string, "base64url").toString(),
      );
      expect(claims).toMatchObject({ iss: "Upstash", sub: `${setup.sink.url}/binary`, nbf: 0 });
      expect(claims.exp - claims.iat).toBe(300);
      expect(claims.jti).toMatch(/^jwt_/);
      const msg = await readMessage(setup.herald, got?.headers["upstash-message-id"] as string);
      expect(msg.body).toBeUndefined(); // not valid UTF-8: returned as bodyBase64
      expect((msg as unknown as { bodyBase64: string }).bodyBase64).toBe(bytes.toString("base64"));
      release();
    });

    it("strips qstash_token and upstash-* parameters from the destination query and applies the latter", async () => {
      const res = await fetch(
        `${setup.herald.server.url}/v2/publish/${setup.sink.url}/webhook?keep=1&qstash_token=${setup.herald.server.token}&upstash-method=PATCH&also=2`,
        { method: "POST", body: "via query" },
      );
      expect(res.status).toBe(200);
      const json = (await res.json()) as { url: string };
      expect(json.url).toBe(`${setup.sink.url}/webhook?keep=1&also=2`);
      const [got] = await setup.sink.waitFor("/webhook?keep=1&also=2");
      expect(got?.method).toBe("PATCH");
    });

    it("repairs a destination whose // a proxy collapsed", async () => {
      const res = await setup.herald.api(`/v2/publish/${setup.sink.url.replace("http://", "http:/")}/collapsed`, {
        method: "POST",
        body: "x",
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { url: string }).url).toBe(`${setup.sink.url}/collapsed`);
      await setup.sink.waitFor("/collapsed");
    });

    it("stores labels and timeout and returns them on the message", async () => {
      const res = await setup.herald.client.publishJSON({
        url: `${setup.sink.url}/labelled`,
        body: { a: 1 },
        label: ["blue", "green"],
        timeout: "30s",
        retryDelay: "1000 * (1 + retried)",
        delay: 60,
      });
      const msg = await setup.herald.client.messages.get(res.messageId);
      expect(msg).toMatchObject({
        messageId: res.messageId,
        url: `${setup.sink.url}/labelled`,
        method: "POST",
        labels: ["blue", "green"],
        label: "blue",
        retryDelayExpression: "1000 * (1 + retried)",
        maxRetries: 3,
        body: '{"a":1}',
      });
      expect((msg.notBefore ?? 0) - msg.createdAt).toBe(60_000);
      await setup.herald.client.messages.cancel(res.messageId);
    });
  });

  describe("the product brief's curl examples", () => {
    const curl = (args: string[]): Promise<{ stdout: string }> => run("curl", ["-s", "-S", ...args]);

    it("publishes with method, delay, retries and a custom header (publish API reference)", async () => {
      const sentAt = Date.now();
      const { stdout } = await curl([
        "-X",
        "POST",
        `${setup.herald.server.url}/v2/publish/${setup.sink.url}/brief-reference`,
        "-H",
        `Authorization: Bearer ${setup.herald.server.token}`,
        "-H",
        "Content-Type: application/json",
        "-H",
        "Upstash-Method: POST",
        "-H",
        "Upstash-Delay: 1s",
        "-H",
        "Upstash-Retries: 3",
        "-H",
        "Upstash-Forward-Custom-Header: custom-value",
        "-d",
        '{"message":"Hello, World!"}',
      ]);
      const res = JSON.parse(stdout) as { messageId: string; url: string };
      expect(res.url).toBe(`${setup.sink.url}/brief-reference`);
      const [got] = await setup.sink.waitFor("/brief-reference");
      expect(got?.headers["custom-header"]).toBe("custom-value");
      expect(got?.body.toString()).toBe('{"message":"Hello, World!"}');
      expect((got?.at ?? 0) - sentAt).toBeGreaterThanOrEqual(1000); // Upstash-Delay: 1s
    });

    it("publishes with callback and failure callback set (API examples)", async () => {
      const { stdout } = await curl([
        "-XPOST",
        "-H",
        `Authorization: Bearer ${setup.herald.server.token}`,
        "-H",
        "Content-type: application/json",
        "-H",
        `Upstash-Callback: ${setup.sink.url}/brief-callback`,
        "-H",
        `Upstash-Failure-Callback: ${setup.sink.url}/brief-failure`,
        "-d",
        '{ "hello": "world" }',
        `${setup.herald.server.url}/v2/publish/${setup.sink.url}/brief-target`,
      ]);
      expect(JSON.parse(stdout)).toMatchObject({ messageId: expect.any(String) });
      await setup.sink.waitFor("/brief-target");
      const [callback] = await setup.sink.waitFor("/brief-callback");
      expect(JSON.parse(callback?.body.toString() ?? "")).toMatchObject({
        status: 200,
        url: `${setup.sink.url}/brief-target`,
      });
      expect(setup.sink.at("/brief-failure")).toHaveLength(0);
    });

    it("lists events (API examples)", async () => {
      const { stdout } = await curl([
        `${setup.herald.server.url}/v2/events`,
        "-H",
        `Authorization: Bearer ${setup.herald.server.token}`,
      ]);
      const res = JSON.parse(stdout) as { events: { state: string }[] };
      expect(res.events.length).toBeGreaterThan(0);
    });
  });
});
