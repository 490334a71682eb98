// `npm run test:sdk -- <path to a qstash-js checkout>`: runs the official SDK's own test files against
// `npm start`, `npm run start:aws-local` and the latter's Function URL (`HERALD_RAW_PATH_ENDPOINT=true`),
// each started fresh as a user would, and prints a table per file. Not part of `npm test`: CI has no copy of the SDK's repository. See README, "QStash compatibility".
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseBunOutput, TEST_FILES, type FileResult } from "./sdk-suite.ts";

/** What those files import from outside the repository, and bun to run them (all from npm). */
const DEPENDENCIES = ["bun@1", "nanoid@5", "neverthrow@7", "crypto-js@4", "jose@5"];
interface Mode {
  name: string;
  /** What `npm run test:sdk -- <checkout> <key>` runs alone. */
  key: string;
  script: string;
  env?: Record<string, string>;
  /** The line of the start's output with the URL to test, when it is not the API's. */
  url?: RegExp;
}
const MODES: Mode[] = [
  { name: "npm start", key: "local", script: "start" },
  { name: "npm run start:aws-local", key: "aws-local", script: "start:aws-local" },
  // The Function URL of the rawPathEndpoint opt-in, the endpoint BENCHMARKS.md prices without API Gateway.
  {
    name: "aws-local, Function URL",
    key: "function-url",
    script: "start:aws-local",
    env: { HERALD_RAW_PATH_ENDPOINT: "true" },
    url: /The Function URL \(rawPathEndpoint[^)]*\) is (http:\/\/\S+)/,
  },
];

const checkout = process.argv[2] ? resolve(process.argv[2]) : undefined;
if (!checkout || !existsSync(join(checkout, "src/client/client.test.ts"))) {
  console.error("usage: npm run test:sdk -- <path to a checkout of upstash/qstash-js>");
  process.exit(2);
}
const only = process.argv.slice(3); // optional: `local`, `aws-local` or `function-url`
const bun = ensureBun(checkout);

const results: Record<string, Record<string, FileResult>> = {};
for (const mode of MODES) {
  if (only.length > 0 && !only.includes(mode.key)) continue;
  console.log(`\n== ${mode.name} ==`);
  results[mode.name] = await runAgainst(mode);
}
printTable(results);
const failed = Object.values(results).some((files) => Object.values(files).some((f) => f.failed > 0));
process.exit(failed ? 1 : 0);

/** bun from the checkout's node_modules, or installed (with the tests' imports) into a cache and linked. */
function ensureBun(repo: string): string {
  const own = join(repo, "node_modules/.bin/bun");
  if (existsSync(own)) return own;
  const cache = resolve("node_modules/.cache/herald-sdk-deps");
  const cached = join(cache, "node_modules/.bin/bun");
  if (!existsSync(cached)) {
    console.log(`installing ${DEPENDENCIES.join(", ")} into ${cache} …`);
    mkdirSync(cache, { recursive: true });
    writeFileSync(join(cache, "package.json"), JSON.stringify({ name: "herald-sdk-deps", private: true }));
    const install = spawnSync("npm", ["install", "--no-audit", "--no-fund", ...DEPENDENCIES], {
      cwd: cache,
      stdio: "inherit",
    });
    if (install.status !== 0) throw new Error("npm install of bun and the SDK tests' dependencies failed");
  }
  // bun resolves the tests' imports from the checkout's node_modules: point it at the cache.
  if (!existsSync(join(repo, "node_modules"))) symlinkSync(join(cache, "node_modules"), join(repo, "node_modules"));
  return cached;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

/**
 * Starts Herald with the README's command on a free port and a fresh data directory; resolves its token
 * and the URL to test (the API's, or the one the mode's line of the output names).
 */
async function startHerald(mode: Mode): Promise<{ child: ChildProcess; url: string; token: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "herald-sdk-"));
  const port = await freePort(); // not 8080: the SDK's mock tests listen there
  const child = spawn("npm", ["run", mode.script], {
    env: { ...process.env, ...mode.env, PORT: String(port), HERALD_DATA_DIR: dir },
    stdio: ["ignore", "pipe", "inherit"],
    detached: true,
  });
  let output = "";
  const started = await new Promise<{ token: string; url: string }>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`${mode.script} did not start within 120 s:\n${output}`)), 120_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const token = /QSTASH_TOKEN=(\S+)/.exec(output)?.[1];
      const url = mode.url ? mode.url.exec(output)?.[1] : `http://127.0.0.1:${port}`;
      if (token && url) {
        clearTimeout(timer);
        done({ token, url });
      }
    });
    child.on("exit", (code) => fail(new Error(`${mode.script} exited with ${code}:\n${output}`)));
  });
  return { child, ...started, dir };
}

async function runAgainst(mode: Mode): Promise<Record<string, FileResult>> {
  const herald = await startHerald(mode);
  try {
    const run = spawn(bun, ["test", ...TEST_FILES], {
      cwd: checkout,
      env: sdkEnv(herald.url, herald.token),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const collect = (chunk: Buffer): void => {
      output += chunk.toString();
      process.stdout.write(chunk);
    };
    run.stdout.on("data", collect);
    run.stderr.on("data", collect);
    await new Promise((done) => run.on("close", done));
    return parseBunOutput(output);
  } finally {
    // SIGTERM lets Herald stop its emulators (DynamoDB Local is a Java child of aws-local).
    if (herald.child.pid) process.kill(-herald.child.pid, "SIGTERM");
    await new Promise((done) => herald.child.on("exit", done));
    rmSync(herald.dir, { recursive: true, force: true });
  }
}

/** The suite's environment: Herald's URL and token, and never QSTASH_DEV (the SDK would ignore the URL). */
function sdkEnv(url: string, token: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, QSTASH_URL: url, QSTASH_TOKEN: token };
  delete env.QSTASH_DEV;
  return env;
}

function printTable(all: Record<string, Record<string, FileResult>>): void {
  const modes = Object.keys(all);
  console.log(`\n| file | ${modes.join(" | ")} |`);
  console.log(`|---|${modes.map(() => "---").join("|")}|`);
  const total: Record<string, FileResult> = {};
  for (const file of TEST_FILES) {
    const cells = modes.map((mode) => {
      const r = all[mode]?.[file] ?? { passed: 0, failed: 0, failures: [] };
      const sum = (total[mode] ??= { passed: 0, failed: 0, failures: [] });
      sum.passed += r.passed;
      sum.failed += r.failed;
      sum.failures.push(...r.failures);
      return `${r.passed}/${r.passed + r.failed}`;
    });
    console.log(`| ${file} | ${cells.join(" | ")} |`);
  }
  console.log(
    `| **all** | ${modes.map((m) => `${total[m]?.passed}/${(total[m]?.passed ?? 0) + (total[m]?.failed ?? 0)}`).join(" | ")} |`,
  );
  for (const mode of modes) {
    for (const failure of total[mode]?.failures ?? []) console.log(`failed on ${mode}: ${failure}`);
  }
}
