import { Receiver } from "@upstash/qstash";
import { describe, expect, it } from "vitest";
import { describeEachMode, useHeraldWithSink } from "../support/herald.ts";

describeEachMode("auth, errors and keys", (mode) => {
  const setup = useHeraldWithSink({ mode });

  const ROUTES: [string, string][] = [
    ["POST", "/v2/publish/https://example.com/x"],
    ["GET", "/v2/messages/msg_123"],
    ["DELETE", "/v2/messages/msg_123"],
    ["DELETE", "/v2/messages"],
    ["GET", "/v2/logs"],
    ["GET", "/v2/events"],
    ["GET", "/v2/dlq"],
    ["DELETE", "/v2/dlq"],
    ["GET", "/v2/dlq/1-abc"],
    ["DELETE", "/v2/dlq/1-abc"],
    ["POST", "/v2/dlq/retry"],
    ["POST", "/v2/dlq/retry/1-abc"],
    ["GET", "/v2/keys"],
    ["POST", "/v2/keys/rotate"],
    ["POST", "/v2/rotate"],
    ["GET", "/v2/unknown"],
  ];

  async function expectJsonError(res: Response, status: number): Promise<string> {
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toBe("application/json");
    const body = (await res.json()) as { error: string };
    expect(Object.keys(body)).toEqual(["error"]);
    expect(typeof body.error).toBe("string");
    return body.error;
  }

  describe("authentication", () => {
    it.each(ROUTES)("%s %s answers 401 JSON without a token or with a wrong one", async (method, path) => {
      await expectJsonError(await setup.herald.api(path, { method, token: null }), 401);
      const error = await expectJsonError(await setup.herald.api(path, { method, token: "wrong-token" }), 401);
      expect(error).not.toContain("wrong-token");
      await expectJsonError(
        await setup.herald.api(path, { method, token: null, headers: { Authorization: "Basic abc" } }),
        401,
      );
    });

    it("accepts the token as the qstash_token query parameter, also beside a sender's own Authorization", async () => {
      const res = await fetch(`${setup.herald.server.url}/v2/keys?qstash_token=${setup.herald.server.token}`);
      expect(res.status).toBe(200);
      const withBasic = await fetch(`${setup.herald.server.url}/v2/keys?qstash_token=${setup.herald.server.token}`, {
        headers: { Authorization: "Basic dXNlcjpwYXNz" },
      });
      expect(withBasic.status).toBe(200);
    });
  });

  describe("bad input gets a 4xx JSON error and the server keeps serving", () => {
    const publish = (headers: Record<string, string>, destination = `${setup.sink.url}/never`): Promise<Response> =>
      setup.herald.api(`/v2/publish/${destination}`, { method: "POST", headers, body: "x" });

    it.each([
      [{ "Upstash-Delay": "soon" }, /Upstash-Delay/],
      [{ "Upstash-Delay": "10x" }, /Upstash-Delay/],
      [{ "Upstash-Retries": "-1" }, /Upstash-Retries/],
      [{ "Upstash-Retries": "1000" }, /Upstash-Retries/],
      [{ "Upstash-Method": "TRACE" }, /Upstash-Method/],
      [{ "Upstash-Retry-Delay": "process.exit(1)" }, /Upstash-Retry-Delay/],
      [{ "Upstash-Retry-Delay": "pow(2" }, /Upstash-Retry-Delay/],
      [{ "Upstash-Timeout": "0s" }, /Upstash-Timeout/],
      [{ "Upstash-Not-Before": "tomorrow" }, /Upstash-Not-Before/],
      [{ "Upstash-Callback": "ftp://example.com" }, /Upstash-Callback/],
      [{ "Upstash-Failure-Callback": "not a url" }, /Upstash-Failure-Callback/],
    ])("rejects %o", async (headers, message) => {
      expect(await expectJsonError(await publish(headers), 400)).toMatch(message);
    });

    it("forwards a header named like an Object.prototype member", async () => {
      const res = await publish(
        { "Upstash-Forward-__proto__": "p", "Upstash-Forward-Constructor": "c" },
        `${setup.sink.url}/proto`,
      );
      expect(res.status).toBe(200);
      const [got] = await setup.sink.waitFor("/proto");
      const raw = got?.rawHeaders ?? [];
      expect(raw[raw.indexOf("__proto__") + 1]).toBe("p");
      expect(raw[raw.indexOf("Constructor") + 1]).toBe("c");
    });

    it("ignores unknown Upstash-* headers", async () => {
      const res = await publish({ "Upstash-Something-New": "whatever" }, `${setup.sink.url}/unknown-header`);
      expect(res.status).toBe(200);
      await setup.sink.waitFor("/unknown-header");
    });

    it.each([
      ["ftp://example.com/file", /invalid scheme/],
      ["javascript:alert(1)", /invalid scheme/],
      ["https://", /not a valid URL|no host/],
      ["not a url at all", /neither an http\(s\) URL/],
    ])("rejects the destination %s", async (destination, message) => {
      expect(await expectJsonError(await publish({}, destination), 400)).toMatch(message);
    });

    it("answers 404 for a URL group that does not exist", async () => {
      await expectJsonError(await publish({}, "no-such-group"), 404);
    });

    it("refuses event and run ids over 256 bytes (they are key prefixes on DynamoDB), and takes 256", async () => {
      const euros = encodeURIComponent("€".repeat(86)); // 86 characters, 258 bytes: the router's cap is 256 characters
      const notify = (path: string): Promise<Response> => setup.herald.api(`/v2/notify/${path}`, { method: "POST" });
      expect(await expectJsonError(await notify(euros), 400)).toMatch(/at most 256 bytes/);
      expect(await expectJsonError(await notify(`run/${euros}`), 400)).toMatch(/at most 256 bytes/);
      expect(await expectJsonError(await notify(`${"r".repeat(257)}/event`), 400)).toMatch(/at most 256 bytes/);
      expect(await expectJsonError(await setup.herald.api(`/v2/waiters/${euros}`), 400)).toMatch(/at most 256/);
      const longest = await notify(`${"r".repeat(256)}/${"e".repeat(256)}`);
      expect(longest.status).toBe(200);
      expect(await longest.json()).toEqual([]);
    });

    it("answers 413 for a body over 1 MiB, before reading it, and keeps serving", async () => {
      const big = Buffer.alloc(1024 * 1024 + 1, "a");
      const res = await setup.herald.api(`/v2/publish/${setup.sink.url}/big`, { method: "POST", body: big });
      expect(await expectJsonError(res, 413)).toMatch(/too large/);
      const exact = await setup.herald.api(`/v2/publish/${setup.sink.url}/exact`, {
        method: "POST",
        body: Buffer.alloc(1024 * 1024, "b"),
      });
      expect(exact.status).toBe(200);
      const [got] = await setup.sink.waitFor("/exact");
      expect(got?.body.length).toBe(1024 * 1024);
    });

    it("answers 431 JSON for a header block over 16 KiB, and keeps serving", async () => {
      const res = await setup.herald.api("/v2/keys", { headers: { "X-Big": "a".repeat(20_000) } });
      if (mode === "local") expect(await expectJsonError(res, 431)).toMatch(/headers too large/);
      // On AWS the gateway answers before Herald runs, in API Gateway's own shape.
      else expect([res.status, await res.json()]).toEqual([431, { message: "Request Header Fields Too Large" }]);
      expect((await setup.herald.api("/v2/keys")).status).toBe(200);
    });

    it.each([
      ["DELETE", "/v2/messages?messageIds="],
      ["DELETE", "/v2/messages?label="],
      ["DELETE", "/v2/dlq?dlqIds="],
      ["POST", "/v2/dlq/retry?dlqIds="],
      ["GET", "/v2/logs?messageId="],
    ])("refuses %s %s: a filter without a value never means everything", async (method, path) => {
      const pending = await setup.herald.client.publish({ url: `${setup.sink.url}/keep-me`, body: "x", delay: 60 });
      expect(await expectJsonError(await setup.herald.api(path, { method }), 400)).toMatch(/needs a value/);
      expect(await setup.herald.client.messages.cancel(pending.messageId)).toEqual({ cancelled: 1 });
    });

    it("answers 404 for unknown messages, 405 for wrong methods, 400 for bad cursors", async () => {
      await expectJsonError(await setup.herald.api("/v2/messages/msg_nope"), 404);
      await expectJsonError(await setup.herald.api("/v2/keys", { method: "DELETE" }), 405);
      await expectJsonError(await setup.herald.api("/v2/logs?cursor=abc"), 400);
      await expectJsonError(await setup.herald.api("/v2/logs?count=0"), 400);
      expect((await setup.herald.api("/v2/keys")).status).toBe(200);
    });
  });

  describe("signing keys", () => {
    it("returns the keys and rotates them: next becomes current and deliveries are signed with it", async () => {
      const before = (await (await setup.herald.api("/v2/keys")).json()) as { current: string; next: string };
      expect(before.current).toMatch(/^sig_/);
      const rotated = (await (await setup.herald.api("/v2/keys/rotate", { method: "POST" })).json()) as {
        current: string;
        next: string;
      };
      expect(rotated.current).toBe(before.next);
      expect(rotated.next).not.toBe(before.current);

      await setup.herald.client.publish({ url: `${setup.sink.url}/after-rotation`, body: "signed" });
      const [got] = await setup.sink.waitFor("/after-rotation");
      const signature = got?.headers["upstash-signature"] as string;
      // A receiver that was configured before the rotation still verifies (it knows the old next key).
      const oldReceiver = new Receiver({ currentSigningKey: before.current, nextSigningKey: before.next });
      await expect(oldReceiver.verify({ signature, body: "signed" })).resolves.toBe(true);
      const onlyOldCurrent = new Receiver({ currentSigningKey: before.current, nextSigningKey: before.current });
      const onlyNewCurrent = new Receiver({ currentSigningKey: rotated.current, nextSigningKey: rotated.current });
      if (mode === "local") {
        await expect(onlyOldCurrent.verify({ signature, body: "signed" })).rejects.toThrow();
      } else {
        // On AWS each Lambda container caches the secret for a minute (README, docs/qstash-api.md §17): a delivery container
        // other than the API container that rotated may still sign with the old current key in that minute.
        const signedWithOld = await onlyOldCurrent.verify({ signature, body: "signed" }).catch(() => false);
        const signedWithNew = await onlyNewCurrent.verify({ signature, body: "signed" }).catch(() => false);
        expect([signedWithOld, signedWithNew]).toContain(true);
      }
    });
  });
});
