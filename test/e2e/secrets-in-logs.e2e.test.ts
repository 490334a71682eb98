// Tokens and signing keys never appear in what Herald prints or answers. Herald runs as its start command
// does (a child process, all of stdout and stderr captured; emulated AWS with Powertools at DEBUG and
// POWERTOOLS_LOGGER_LOG_EVENT on), gets a mix of good and bad requests, failing deliveries and a key
// rotation, and then every captured line and every response body is searched for each secret.
// The one exception is deliberate: the start-up banner prints the token and keys for local development.
// It is cut out of the output as one exact block (as startupBanner renders it), so a secret printed
// anywhere else — even a second copy of the banner — is still found.
import { Client } from "@upstash/qstash";
import { expect, it } from "vitest";
import { startupBanner } from "../../lambdas/server/banner.ts";
import { describeEachMode, eventually, tempDir, type HeraldMode } from "../support/herald.ts";
import { spawnHerald, type HeraldProcess } from "../support/process.ts";
import { Sink } from "../support/sink.ts";

const ENTRY: Record<HeraldMode, { entry: string; title: string }> = {
  local: { entry: "bin/herald-local.ts", title: "Herald" },
  "aws-local": { entry: "bin/herald-aws-local.ts", title: "Herald (emulated AWS)" },
};

const sink = Sink.forSuite();
sink.reply = (request) => (request.path.startsWith("/fail") ? { status: 500, body: "boom" } : { status: 200 });

describeEachMode("secrets in logs and error bodies", (mode) => {
  it(
    "never prints or answers a token or a signing key, outside the start-up banner",
    { timeout: 240_000 },
    async () => {
      const suffix = Math.random().toString(36).slice(2, 10);
      const token = `hrld_LEAKTESTtoken${suffix}`;
      const readOnlyToken = `hrld_LEAKTESTreadonly${suffix}`;
      const wrongTokens = [`hrld_WRONGbearer${suffix}`, `hrld_WRONGquery${suffix}`, `LONG${suffix}${"z".repeat(6000)}`];
      const dataDir = tempDir();
      const herald: HeraldProcess = await spawnHerald(
        process.execPath,
        [ENTRY[mode].entry],
        {
          PORT: "0",
          HERALD_DATA_DIR: dataDir,
          HERALD_TOKEN: token,
          HERALD_READONLY_TOKEN: readOnlyToken,
          POWERTOOLS_LOG_LEVEL: "DEBUG",
          POWERTOOLS_LOGGER_LOG_EVENT: "true",
          POWERTOOLS_METRICS_DISABLED: "false",
        },
        90_000,
      );
      const bodies: { what: string; text: string }[] = [];
      let keys: { current: string; next: string } | undefined;
      const rotatedKeys: string[] = [];
      try {
        const call = async (what: string, path: string, init: RequestInit = {}): Promise<Response> => {
          const res = await fetch(`${herald.url}${path}`, init);
          bodies.push({ what, text: await res.clone().text() });
          return res;
        };
        const auth = (value: string): Record<string, string> => ({ Authorization: `Bearer ${value}` });
        const keysRes = await fetch(`${herald.url}/v2/keys`, { headers: auth(token) }); // answers with the keys
        keys = (await keysRes.json()) as { current: string; next: string };
        const client = new Client({ baseUrl: herald.url, token, retry: false });

        // Good publishes, one authenticated by the query token.
        await client.publishJSON({ url: `${sink.url}/ok-1`, body: { hello: 1 } });
        await call("publish with the query token", `/v2/publish/${sink.url}/ok-query?x=1&qstash_token=${token}`, {
          method: "POST",
          body: "hi",
        });
        // Every way of holding the wrong token, and the read-only token on writes.
        await call("wrong bearer", "/v2/logs", { headers: auth(wrongTokens[0] as string) });
        await call("wrong query token", `/v2/publish/${sink.url}/never?qstash_token=${wrongTokens[1]}`, {
          method: "POST",
        });
        await call("long token", "/v2/dlq", { headers: auth(wrongTokens[2] as string) });
        await call("no token", "/v2/queues");
        await call("basic", "/v2/keys", { headers: { Authorization: `Basic ${btoa(`${token}:`)}` } });
        await call("read-only publish", `/v2/publish/${sink.url}/never`, {
          method: "POST",
          headers: auth(readOnlyToken),
        });
        await call("read-only keys", "/v2/keys", { headers: auth(readOnlyToken) });
        await call("read-only rotate", `/v2/keys/rotate?qstash_token=${readOnlyToken}`, { method: "POST" });
        await call("read-only read", "/v2/logs", { headers: auth(readOnlyToken) });
        // Bad input.
        const bad: [string, RequestInit][] = [
          [
            `/v2/publish/${sink.url}/never?qstash_token=${token}`,
            { method: "POST", headers: { "Upstash-Delay": "x" } },
          ],
          ["/v2/publish/not-a-url", { method: "POST", headers: auth(token) }],
          ["/v2/queues", { method: "POST", headers: auth(token), body: "{not json" }],
          ["/v2/logs?cursor=abc", { headers: auth(token) }],
          ["/v2/keys", { method: "DELETE", headers: auth(token) }],
          ["/v2/nothing-here", { headers: auth(token) }],
          [`/v2/dlq?qstash_token=${token}&dlqIds=`, { method: "DELETE" }],
          [
            `/v2/publish/${sink.url}/never`,
            { method: "POST", headers: auth(token), body: "x".repeat(1024 * 1024 + 1) },
          ],
        ];
        for (const [path, init] of bad) await call(`bad input ${path.slice(0, 40)}`, path, init);
        // Deliveries that fail: a destination answering 500 (with a failure callback), one refusing connections.
        await call("failing publish", `/v2/publish/${sink.url}/fail?qstash_token=${token}`, {
          method: "POST",
          headers: {
            "Upstash-Retries": "1",
            "Upstash-Retry-Delay": "100",
            "Upstash-Failure-Callback": `${sink.url}/failure-callback`,
          },
          body: "will fail",
        });
        await call("unreachable publish", "/v2/publish/http://127.0.0.1:9/unreachable", {
          method: "POST",
          headers: { ...auth(token), "Upstash-Retries": "0" },
          body: "nobody home",
        });
        await sink.waitFor("/fail", 2, 60_000);
        await sink.waitFor("/failure-callback", 1, 60_000);
        await eventually(async () => {
          const dlq = (await (await call("dlq", "/v2/dlq", { headers: auth(token) })).json()) as { messages: [] };
          return dlq.messages.length >= 2 ? true : undefined;
        }, 60_000);
        await call("logs", "/v2/logs", { headers: auth(token) });
        // Rotation (its answer is the keys), then a delivery signed with the new current key.
        const rotated = (await (
          await fetch(`${herald.url}/v2/keys/rotate`, { method: "POST", headers: auth(token) })
        ).json()) as { current: string; next: string };
        rotatedKeys.push(rotated.next);
        await client.publishJSON({ url: `${sink.url}/ok-after-rotation`, body: { hello: 2 } });
        await sink.waitFor("/ok-after-rotation", 1, 60_000);
        await sink.waitFor("/ok-query?x=1", 1, 60_000);
      } finally {
        await herald.kill("SIGTERM");
      }

      expect(keys).toBeDefined();
      const { current, next } = keys as { current: string; next: string };
      const secrets = { token, readOnlyToken, current, next, rotatedNext: rotatedKeys[0] as string };
      const banner = startupBanner({
        title: ENTRY[mode].title,
        url: herald.url,
        token,
        readOnlyToken,
        keys: { current, next },
        dataDir,
      });
      const output = herald.output();
      expect(output).toContain(banner);
      const rest = output.replace(banner, "");
      // The output is not empty: emulated AWS logged every API event (redacted) at DEBUG.
      if (mode === "aws-local") expect(rest).toContain("Lambda invocation event");
      for (const [name, value] of Object.entries(secrets)) {
        expect(rest.includes(value), `${name} in the output`).toBe(false);
        for (const body of bodies)
          expect(body.text.includes(value), `${name} in the answer to ${body.what}`).toBe(false);
      }
      for (const wrong of wrongTokens) {
        expect(rest.includes(wrong), "a wrong token in the output").toBe(false);
        for (const body of bodies) expect(body.text.includes(wrong), `a wrong token in ${body.what}`).toBe(false);
      }
      // Nothing delivered carried Herald's token either.
      for (const request of sink.received) {
        expect(JSON.stringify([request.path, request.headers, request.body.toString()])).not.toContain(token);
      }
    },
  );
});
