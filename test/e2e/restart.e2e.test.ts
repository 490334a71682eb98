import { Client } from "@upstash/qstash";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sink } from "../support/sink.ts";
import { eventually, tempDir } from "../support/herald.ts";
import { startLocalServer } from "../../lambdas/local/server.ts";
import { spawnHerald } from "../support/process.ts";

const TOKEN = "restart-test-token";
let sink: Sink;

beforeAll(async () => {
  sink = await Sink.start();
});
afterAll(async () => {
  await sink.close();
});

const env = (dataDir: string): Record<string, string> => ({ PORT: "0", HERALD_DATA_DIR: dataDir, HERALD_TOKEN: TOKEN });

describe("npm start", () => {
  it("prints the URL, token, keys and an SDK snippet, and serves the API", async () => {
    const herald = await spawnHerald("npm", ["start", "--silent"], env(tempDir()));
    try {
      expect(herald.output()).toContain(`QSTASH_TOKEN=${TOKEN}`);
      expect(herald.output()).toMatch(/QSTASH_CURRENT_SIGNING_KEY=sig_\w+/);
      expect(herald.output()).toContain('new Client({ baseUrl: "http://127.0.0.1:');
      const res = await fetch(`${herald.url}/v2/keys`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(200);
    } finally {
      await herald.kill("SIGTERM");
    }
  });
});

describe("one process per data directory", () => {
  it("refuses a second server on the same data directory, and allows one after the first stopped", async () => {
    const dataDir = tempDir();
    const first = await startLocalServer({ port: 0, dataDir });
    await expect(startLocalServer({ port: 0, dataDir })).rejects.toThrow(/is in use by Herald process/);
    await first.close();
    const second = await startLocalServer({ port: 0, dataDir });
    await second.close();
  });

  it("takes over the lock of a process that died", async () => {
    const dataDir = tempDir();
    const crashed = await spawnHerald(process.execPath, ["bin/herald-local.ts"], env(dataDir));
    await crashed.kill("SIGKILL");
    const next = await startLocalServer({ port: 0, dataDir });
    await next.close();
  });
});

describe("a crash with messages pending", () => {
  it("delivers every accepted message after SIGKILL and restart, with the same signing keys", async () => {
    const dataDir = tempDir();
    sink.reply = (request, count) =>
      request.path === "/crash-retry" && count === 1 ? { status: 500 } : { status: 200 };
    const first = await spawnHerald(process.execPath, ["bin/herald-local.ts"], env(dataDir));
    const client = new Client({ baseUrl: first.url, token: TOKEN, retry: false });
    const keysBefore = await (
      await fetch(`${first.url}/v2/keys`, { headers: { Authorization: `Bearer ${TOKEN}` } })
    ).json();

    const delayed: string[] = [];
    for (let i = 0; i < 5; i++) {
      delayed.push(
        (await client.publish({ url: `${sink.url}/crash-delayed`, body: `delayed ${i}`, delay: 2 })).messageId,
      );
    }
    // This one fails once and waits 1.5 s for its retry: the retry must survive the crash too.
    const retrying = await client.publish({ url: `${sink.url}/crash-retry`, body: "retry", retryDelay: "1500" });
    await sink.waitFor("/crash-retry", 1);
    await eventually(async () => {
      const { logs } = await client.logs({ filter: { messageId: retrying.messageId, state: "RETRY" } });
      return logs.length > 0 ? true : undefined;
    });
    await first.kill("SIGKILL");
    expect(sink.at("/crash-delayed")).toHaveLength(0);

    const second = await spawnHerald(process.execPath, ["bin/herald-local.ts"], env(dataDir));
    try {
      const got = await sink.waitFor("/crash-delayed", 5, 10_000);
      expect(new Set(got.map((r) => r.headers["upstash-message-id"]))).toEqual(new Set(delayed));
      const retries = await sink.waitFor("/crash-retry", 2, 10_000);
      expect(retries[1]?.headers["upstash-message-id"]).toBe(retrying.messageId);
      expect(retries[1]?.headers["upstash-retried"]).toBe("1");
      const keysAfter = await (
        await fetch(`${second.url}/v2/keys`, { headers: { Authorization: `Bearer ${TOKEN}` } })
      ).json();
      expect(keysAfter).toEqual(keysBefore);
    } finally {
      await second.kill("SIGTERM");
    }
  });
});
