import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, Receiver } from "@upstash/qstash";
import { afterAll, beforeAll, describe, onTestFinished } from "vitest";
import { buildConsole } from "../../console/build.ts";
import { consoleAssetsOf } from "../../lambdas/console/console-assets.ts";
import { configFromEnv } from "../../lambdas/core/config.ts";
import { startAwsLocal } from "../../emulation/emulated-aws-server.ts";
import { startLocalServer, type RunningHerald } from "../../lambdas/server/embedded-server.ts";
import { Sink } from "./sink.ts";

/** `local` is `npm start`'s server; `aws-local` the Lambda handlers and AWS adapters on emulated AWS. */
export type HeraldMode = "local" | "aws-local";
export const MODES: readonly HeraldMode[] = ["local", "aws-local"];

export interface HeraldOptions {
  mode?: HeraldMode;
  dataDir?: string;
  /** HERALD_* settings, as the environment would give them. */
  env?: Record<string, string>;
}

export interface TestHerald {
  mode: HeraldMode;
  server: RunningHerald;
  client: Client;
  receiver: Receiver;
  dataDir: string;
  /** Plain HTTP against the API, with the token unless `token: null`. */
  api(path: string, init?: RequestInit & { token?: string | null }): Promise<Response>;
  close(): Promise<void>;
}

export function tempDir(prefix = "herald-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A temporary directory removed when the current test ends. */
export function testDir(): string {
  const dir = tempDir();
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A Herald on a random port with its own data directory, and the official SDK pointed at it. */
export async function startHerald(options: HeraldOptions = {}): Promise<TestHerald> {
  const mode = options.mode ?? "local";
  const dataDir = options.dataDir ?? tempDir();
  const env = options.env ?? {};
  const server =
    mode === "local"
      ? await startLocalServer({
          port: 0,
          dataDir,
          config: configFromEnv(env, "any"),
          keys: { token: env.HERALD_TOKEN, readOnlyToken: env.HERALD_READONLY_TOKEN },
          consoleAssets: async () => consoleAssetsOf(await buildConsole()), // as bin/herald-local.ts
        })
      : await startAwsLocal({ port: 0, dataDir, env });
  const keys = (await (
    await fetch(`${server.url}/v2/keys`, { headers: { Authorization: `Bearer ${server.token}` } })
  ).json()) as { current: string; next: string };
  const client = new Client({ baseUrl: server.url, token: server.token, retry: false });
  const receiver = new Receiver({ currentSigningKey: keys.current, nextSigningKey: keys.next });
  return {
    mode,
    server,
    client,
    receiver,
    dataDir,
    api(path, init = {}) {
      const { token = server.token, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (token !== null) headers.set("Authorization", `Bearer ${token}`);
      return fetch(`${server.url}${path}`, { ...rest, headers });
    },
    async close() {
      await server.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` returns a value other than undefined. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(50);
  }
}

/**
 * GET /v2/messages/{id}: a message is readable from its publish until it is delivered, failed or
 * cancelled (then 404, as on QStash), on both platforms by default.
 */
export async function readMessage(herald: TestHerald, messageId: string): Promise<Record<string, unknown>> {
  const res = await herald.api(`/v2/messages/${messageId}`);
  if (res.status !== 200) throw new Error(`GET /v2/messages/${messageId} answered ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

/** Makes the sink hold its answers to `path` for `ms`: their attempts stay in flight, so still readable. */
export function holdAnswers(sink: Sink, path: string, ms: number): () => void {
  const previous = sink.reply;
  sink.reply = (request, count) =>
    request.path === path ? { ...previous(request, count), delayMs: ms } : previous(request, count);
  return () => {
    sink.reply = previous;
  };
}

/**
 * Registers beforeAll/afterAll hooks for a fresh Herald and a recording sink shared by one test file.
 * Read `setup.herald` / `setup.sink` inside tests (they exist once beforeAll ran).
 */
export function useHeraldWithSink(options: HeraldOptions = {}): { herald: TestHerald; sink: Sink } {
  const setup = {} as { herald: TestHerald; sink: Sink };
  beforeAll(async () => {
    setup.herald = await startHerald(options);
    setup.sink = await Sink.start();
  });
  afterAll(async () => {
    await setup.herald.close();
    await setup.sink.close();
  });
  return setup;
}

/** Runs a suite once per mode: every e2e scenario holds for `npm start` and for emulated AWS alike. */
export function describeEachMode(name: string, suite: (mode: HeraldMode) => void): void {
  for (const mode of MODES) describe(`${name} [${mode}]`, () => suite(mode));
}
