import { Client } from "@upstash/qstash";
import { describe, expect, it } from "vitest";
import { Sink } from "../support/sink.ts";
import { describeEachMode, eventually, tempDir, type HeraldMode } from "../support/herald.ts";
import { startLocalServer } from "../../lambdas/server/embedded-server.ts";
import { OWN_DYNAMODB_LOCAL, spawnHerald } from "../support/process.ts";

const TOKEN = "restart-test-token";
const sink = Sink.forSuite();

const env = (dataDir: string): Record<string, string> => ({ PORT: "0", HERALD_DATA_DIR: dataDir, HERALD_TOKEN: TOKEN });

// Two starts of emulated AWS (with a JVM for DynamoDB Local each in the SIGKILL test, ~9 s apiece on a calm
// 2-core machine) and a crash between them: more than vitest's default 30 s once the machine is busy.
const AWS_LOCAL_RESTART_MS = 90_000;

const COMMANDS: Record<HeraldMode, { script: string; entry: string }> = {
  local: { script: "start", entry: "bin/herald-local.ts" },
  "aws-local": { script: "start:aws-local", entry: "bin/herald-aws-local.ts" },
};

describeEachMode("the start command", (mode) => {
  it(`npm run ${COMMANDS[mode].script} prints the URL, token, keys and an SDK snippet, and serves the API`, async () => {
    const herald = await spawnHerald("npm", ["run", COMMANDS[mode].script, "--silent"], env(tempDir()));
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

describeEachMode("a restart right after a crash", (mode) => {
  it(
    `starts again within 300 ms of a SIGKILL of npm run ${COMMANDS[mode].script}'s process group`,
    async () => {
      // The lock is held by the kernel for the process, not named by a PID file: a dead Herald that is
      // still a zombie (its parent npm died with it, nobody has reaped it yet) holds nothing.
      const dataDir = tempDir();
      const first = await spawnHerald("npm", ["run", COMMANDS[mode].script, "--silent"], env(dataDir), 60_000);
      const herald = first.child.pid as number;
      await first.kill("SIGKILL"); // resolves when npm is gone: the node under it may not be reaped yet
      const killedAt = Date.now();
      const second = spawnHerald("npm", ["run", COMMANDS[mode].script, "--silent"], env(dataDir), 60_000);
      const startedWithin = Date.now() - killedAt;
      try {
        const restarted = await second;
        expect(startedWithin).toBeLessThan(300);
        const res = await fetch(`${restarted.url}/v2/keys`, { headers: { Authorization: `Bearer ${TOKEN}` } });
        expect(res.status).toBe(200);
        expect(restarted.output()).not.toContain("in use by Herald process");
        await restarted.kill("SIGTERM");
      } finally {
        try {
          process.kill(-herald, "SIGKILL");
        } catch {
          // the group is gone
        }
      }
    },
    AWS_LOCAL_RESTART_MS,
  );
});

describeEachMode("a crash with messages pending", (mode) => {
  it(
    "delivers every accepted message after SIGKILL and restart, with the same signing keys",
    async () => {
      const dataDir = tempDir();
      const retryPath = `/crash-retry-${mode}`;
      const delayedPath = `/crash-delayed-${mode}`;
      sink.reply = (request, count) => (request.path === retryPath && count === 1 ? { status: 500 } : { status: 200 });
      // SIGKILL takes the whole emulated deployment down, its own DynamoDB Local too (OWN_DYNAMODB_LOCAL).
      const crashEnv = { ...env(dataDir), ...OWN_DYNAMODB_LOCAL };
      const first = await spawnHerald(process.execPath, [COMMANDS[mode].entry], crashEnv);
      const client = new Client({ baseUrl: first.url, token: TOKEN, retry: false });
      const keysBefore = await (
        await fetch(`${first.url}/v2/keys`, { headers: { Authorization: `Bearer ${TOKEN}` } })
      ).json();

      const delayed: string[] = [];
      for (let i = 0; i < 5; i++) {
        delayed.push(
          (await client.publish({ url: `${sink.url}${delayedPath}`, body: `delayed ${i}`, delay: 2 })).messageId,
        );
      }
      // This one fails once and waits 1.5 s for its retry: the retry must survive the crash too.
      const retrying = await client.publish({ url: `${sink.url}${retryPath}`, body: "retry", retryDelay: "1500" });
      await sink.waitFor(retryPath, 1);
      await eventually(async () => {
        const { logs } = await client.logs({ filter: { messageId: retrying.messageId, state: "RETRY" } });
        return logs.length > 0 ? true : undefined;
      });
      await first.kill("SIGKILL");
      expect(sink.at(delayedPath)).toHaveLength(0);

      const second = await spawnHerald(process.execPath, [COMMANDS[mode].entry], crashEnv);
      try {
        const got = await sink.waitFor(delayedPath, 5, 10_000);
        expect(new Set(got.map((r) => r.headers["upstash-message-id"]))).toEqual(new Set(delayed));
        const retries = await sink.waitFor(retryPath, 2, 10_000);
        expect(retries[1]?.headers["upstash-message-id"]).toBe(retrying.messageId);
        expect(retries[1]?.headers["upstash-retried"]).toBe("1");
        const keysAfter = await (
          await fetch(`${second.url}/v2/keys`, { headers: { Authorization: `Bearer ${TOKEN}` } })
        ).json();
        expect(keysAfter).toEqual(keysBefore);
      } finally {
        await second.kill("SIGTERM");
      }
    },
    AWS_LOCAL_RESTART_MS,
  );
});
