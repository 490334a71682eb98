// Untrusted input against the real server (a child process, as `npm start` / `npm run start:aws-local`
// run it): fast-check generates requests over every route of the route table and random paths, with
// hostile methods, paths, queries, headers and bodies, sent as raw bytes. Every answer must be below 500,
// every 4xx a JSON error, and afterwards the process is alive and still delivers.
// FUZZ_RUNS=n scales the runs; a failure prints fast-check's seed, which FUZZ_SEED=n replays.
import { Client } from "@upstash/qstash";
import fc from "fast-check";
import { rmSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ROUTES, type Route } from "../../lambdas/api/routes.ts";
import { describeEachMode, tempDir, type HeraldMode } from "../support/herald.ts";
import { spawnHerald, type HeraldProcess } from "../support/process.ts";
import { rawRequest, requestBytes, type RawResponse } from "../support/raw-http.ts";
import { Sink } from "../support/sink.ts";

const TOKEN = "fuzz-test-token";
const RUNS: Record<HeraldMode, number> = { local: 300, "aws-local": 150 };
const runs = (mode: HeraldMode): number => Number(process.env.FUZZ_RUNS ?? RUNS[mode]);
const seed = process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {};
const ENTRY: Record<HeraldMode, string> = { local: "bin/herald-local.ts", "aws-local": "bin/herald-aws-local.ts" };
/** A URL group the setup creates, so fan-out publishes happen too. */
const GROUP = "fuzz-group";
/** A queue the setup creates. */
const QUEUE = "fuzz-queue";

const b = (text: string): Buffer => Buffer.from(text);

interface Target {
  sink: string;
}

// ---- paths ----

const WORDS = [
  "v2",
  "V2",
  "publish",
  "enqueue",
  "batch",
  "messages",
  "topics",
  "endpoints",
  "queues",
  "schedules",
  "pause",
  "resume",
  "flowControl",
  "logs",
  "events",
  "dlq",
  "retry",
  "keys",
  "rotate",
  "globalParallelism",
  "https:",
  "http:",
  "",
  ".",
  "..",
];

/** One path segment as raw bytes: words, percent-encodings valid and not, raw unicode, raw bytes, long runs. */
const segment: fc.Arbitrary<Buffer> = fc.oneof(
  { arbitrary: fc.constantFrom(...WORDS).map(b), weight: 4 },
  { arbitrary: fc.string({ unit: fc.constantFrom(..."abcXYZ019-._~!$&'()*+,;=:@"), maxLength: 12 }).map(b), weight: 3 },
  {
    arbitrary: fc
      .array(
        fc.oneof(
          fc.integer({ min: 0, max: 255 }).map((n) => `%${n.toString(16).padStart(2, "0")}`),
          fc.constantFrom("%zz", "%", "%2", "%2F", "%2f", "%00", "%C3%28", "%ED%A0%80", "%E2%82", "%25", "%u0041"),
          fc.string({ maxLength: 3 }),
        ),
        { minLength: 1, maxLength: 6 },
      )
      .map((parts) => b(parts.join(""))),
    weight: 3,
  },
  { arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 6 }).map(b), weight: 1 },
  { arbitrary: fc.uint8Array({ minLength: 1, maxLength: 6 }).map((bytes) => Buffer.from(bytes)), weight: 1 },
  { arbitrary: fc.integer({ min: 300, max: 20_000 }).map((n) => b("a".repeat(n))), weight: 1 },
);

const joinSegments = (parts: Buffer[]): Buffer => Buffer.concat(parts.flatMap((part) => [b("/"), part]));

const randomCase = (word: string): fc.Arbitrary<string> =>
  fc.oneof(
    { arbitrary: fc.constant(word), weight: 5 },
    { arbitrary: fc.constantFrom(word.toUpperCase(), word.toLowerCase()), weight: 1 },
  );

/** Where a publish (or schedule) points: the sink, a refused port, the URL group, garbage. */
const destination = (target: Target): fc.Arbitrary<Buffer> =>
  fc.oneof(
    {
      arbitrary: fc
        .array(segment, { maxLength: 3 })
        .map((s) => Buffer.concat([b(`${target.sink}/fuzz`), joinSegments(s)])),
      weight: 6,
    },
    { arbitrary: fc.constantFrom(b("http://127.0.0.1:1/refused"), b(GROUP), b("no-such-group")), weight: 2 },
    { arbitrary: fc.constantFrom(b("https://"), b("ftp://x.com"), b("http://[::1"), b("http://a:99999/x")), weight: 1 },
    { arbitrary: fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => joinSegments(s).subarray(1)), weight: 2 },
  );

const idParam: fc.Arbitrary<Buffer> = fc.oneof(
  fc.constantFrom(b(GROUP), b(QUEUE), b("msg_26hZCxZCuWyyTWPmSVBrNB882AMRP1WS8Hto"), b("1-abc"), b("fuzz-key")),
  segment,
);

/** Routes that store or send something, fuzzed more often (publishes most: they reach the most code). */
const PUBLISHES = /^(publish|enqueue|batch)$/;
const WRITES = /^(schedules|topics|queues)$/;

/** A path of one route of the table (so new routes are fuzzed too), with hostile parameters. */
const routePath = (target: Target): fc.Arbitrary<{ method: string; path: Buffer }> =>
  fc
    .oneof(
      ...ROUTES.map((route) => ({
        arbitrary: fc.constant(route),
        weight: PUBLISHES.test(route.segments[1] ?? "") ? 12 : WRITES.test(route.segments[1] ?? "") ? 3 : 1,
      })),
    )
    .chain((route: Route) => {
      const fixed = fc.tuple(...route.segments.map(randomCase));
      const param =
        route.param === "rest"
          ? route.segments[1] === "enqueue"
            ? fc
                .tuple(fc.oneof(fc.constant(b(QUEUE)), segment), destination(target))
                .map(([queue, dest]) => Buffer.concat([queue, b("/"), dest]))
            : destination(target)
          : route.param === "id"
            ? idParam
            : fc.constant(undefined);
      const suffix = fc.tuple(...(route.suffix ?? []).map(randomCase));
      return fc.tuple(fixed, param, suffix, fc.boolean()).map(([head, p, tail, slash]) => ({
        method: route.method,
        path: Buffer.concat([
          joinSegments(head.map(b)),
          ...(p === undefined ? [] : [b("/"), p]),
          joinSegments(tail.map(b)),
          slash && p === undefined ? b("/") : b(""),
        ]),
      }));
    });

const randomPath: fc.Arbitrary<Buffer> = fc.oneof(
  fc.array(segment, { maxLength: 6 }).map(joinSegments),
  fc
    .tuple(fc.constantFrom("//", "///", "/./", "/../"), fc.array(segment, { maxLength: 4 }))
    .map(([lead, s]) => Buffer.concat([b(lead), joinSegments(s)])),
  fc.constantFrom(b("*"), b("http://example.com/v2/keys"), b("v2/keys"), b("/v2/keys#frag")),
);

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
const method: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...METHODS), weight: 5 },
  { arbitrary: fc.constantFrom("post", "Get", "TRACE", "CONNECT", "PROPFIND", "FOO"), weight: 1 },
);

// ---- query ----

const QUERY_NAMES = [
  "count",
  "cursor",
  "messageIds",
  "messageId",
  "dlqIds",
  "label",
  "state",
  "order",
  "fromDate",
  "toDate",
  "url",
  "topicName",
  "queueName",
  "scheduleId",
  "responseStatus",
  "callerIp",
  "flowControlKey",
  "search",
  "parallelism",
  "rate",
  "period",
  "qstash_token",
  "upstash-delay",
  "",
];
const queryValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("", "-1", "0", "1", "1000", "1001", "1e309", "NaN", "99999999999999999999", "%zz", "%", "a%00b"),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
  fc.integer({ min: 200, max: 4000 }).map((n) => "m".repeat(n)),
  fc.string({ unit: fc.constantFrom(..."abc%&=+?/#"), maxLength: 12 }),
);
const query: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constant(""), weight: 3 },
  {
    arbitrary: fc
      .array(
        fc.tuple(
          fc.oneof(fc.constantFrom(...QUERY_NAMES), fc.string({ maxLength: 6 }).map(encodeURIComponent)),
          queryValue,
        ),
        {
          minLength: 1,
          maxLength: 6,
        },
      )
      .map((pairs) => `?${pairs.map(([n, v]) => `${n}=${v}`).join("&")}`),
    weight: 2,
  },
  { arbitrary: fc.constantFrom("?", "??", "?&&", "?=", "?count", "?messageIds=a&messageIds=b&messageIds="), weight: 1 },
);

// ---- headers ----

const UPSTASH_HEADERS = [
  "Upstash-Delay",
  "Upstash-Not-Before",
  "Upstash-Retries",
  "Upstash-Retry-Delay",
  "Upstash-Method",
  "Upstash-Timeout",
  "Upstash-Callback",
  "Upstash-Failure-Callback",
  "Upstash-Callback-Retries",
  "Upstash-Failure-Callback-Forward-X",
  "Upstash-Deduplication-Id",
  "Upstash-Content-Based-Deduplication",
  "Upstash-Flow-Control-Key",
  "Upstash-Flow-Control-Value",
  "Upstash-Queue-Name",
  "Upstash-Cron",
  "Upstash-Schedule-Id",
  "Upstash-Label",
  "Upstash-Forward-X-Thing",
  "Upstash-Forward-__proto__",
  "Upstash-Forward-",
  "Upstash-",
  "Upstash-Something-New",
];
const headerName: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...UPSTASH_HEADERS), weight: 6 },
  {
    arbitrary: fc.constantFrom("Content-Type", "Content-Encoding", "Accept-Encoding", "Cookie", "__proto__"),
    weight: 2,
  },
  {
    arbitrary: fc.string({ unit: fc.constantFrom(..."abcxyz-_!#$%&'*+.^`|~0"), minLength: 1, maxLength: 12 }),
    weight: 1,
  },
  // Headers Node's server acts on itself (framing ones, which can leave it waiting for more, go to the wire test).
  { arbitrary: fc.constantFrom("Expect", "Upgrade", "Connection", "TE", "Trailer"), weight: 1 },
  {
    arbitrary: fc.string({ unit: fc.constantFrom(..."abc-_"), maxLength: 8 }).map((s) => `Upstash-Forward-${s}`),
    weight: 1,
  },
);

const headerValue = (target: Target): fc.Arbitrary<Buffer> =>
  fc.oneof(
    { arbitrary: fc.string({ unit: fc.constantFrom(..."abc 019,;=-:/.*()"), maxLength: 30 }).map(b), weight: 4 },
    {
      arbitrary: fc
        .constantFrom(
          "",
          "0",
          "-1",
          "1",
          "3",
          "21",
          "1e309",
          "99999999999999999999",
          "10s",
          "1d",
          "-5m",
          "5x",
          "1h30m",
          "true",
          "false",
          "GET",
          "TRACE",
          "* * * * *",
          "*/5 * * * *",
          "CRON_TZ=Nowhere/Else * * * * *",
          "61 * * * *",
          "pow(2, retried) * 1000",
          "pow(2",
          "exp(exp(exp(99)))",
          "parallelism=1",
          "rate=0",
          "rate=10,period=0s,parallelism=-1",
          "application/json",
          "gzip",
          "br, gzip",
          "100-continue",
          "a,b,c",
        )
        .map(b),
      weight: 4,
    },
    {
      arbitrary: fc.constantFrom(`${target.sink}/callback`, "http://127.0.0.1:1/x", "not a url", "ftp://x").map(b),
      weight: 2,
    },
    { arbitrary: fc.integer({ min: 1000, max: 9000 }).map((n) => b("v".repeat(n))), weight: 1 },
    // Invalid UTF-8 (node accepts obs-text bytes 0x80-0xff in values).
    {
      arbitrary: fc.uint8Array({ minLength: 1, maxLength: 12, min: 0x80, max: 0xff }).map((a) => Buffer.from(a)),
      weight: 1,
    },
    // Control characters: the HTTP parser refuses most of them.
    { arbitrary: fc.constantFrom("\x01", "a\x00b", "\x7f", "\t", "a\x1bb").map(b), weight: 1 },
    { arbitrary: fc.string({ unit: "grapheme", maxLength: 8 }).map(b), weight: 1 },
  );

/** Plausible values, so many requests get past validation into the stores, queues and deliveries. */
const validHeader = (target: Target): fc.Arbitrary<[string, Buffer]> =>
  fc
    .constantFrom<[string, string[]]>(
      ["Upstash-Delay", ["0s", "2s", "1m", "30"]],
      ["Upstash-Retries", ["0", "1"]],
      ["Upstash-Method", ["POST", "PUT", "GET", "DELETE", "PATCH"]],
      ["Upstash-Timeout", ["5s", "30"]],
      ["Upstash-Callback", [`${target.sink}/callback`]],
      ["Upstash-Failure-Callback", [`${target.sink}/failure`, "http://127.0.0.1:1/failure"]],
      ["Upstash-Deduplication-Id", ["d1", "d2", "ünï"]],
      ["Upstash-Content-Based-Deduplication", ["true"]],
      ["Upstash-Flow-Control-Key", ["fuzz-key"]],
      ["Upstash-Flow-Control-Value", ["parallelism=2", "rate=50", "rate=20,period=1m,parallelism=3"]],
      ["Upstash-Retry-Delay", ["1000", "pow(2, retried) * 100"]],
      ["Upstash-Label", ["a", "b,c"]],
      ["Upstash-Queue-Name", [QUEUE]],
      ["Upstash-Cron", ["* * * * *", "0 0 1 1 *", "CRON_TZ=Europe/Istanbul 30 2 * * 1-5"]],
      ["Upstash-Forward-X-Thing", ["v", "a b c"]],
      ["Content-Type", ["application/json", "text/plain; charset=utf-8", "application/octet-stream"]],
    )
    .chain(([name, values]) => fc.tuple(fc.constant(name), fc.constantFrom(...values).map(b)));

const headers = (target: Target): fc.Arbitrary<[string, Buffer][]> =>
  fc.oneof(
    { arbitrary: fc.array(validHeader(target), { maxLength: 3 }), weight: 3 },
    {
      arbitrary: fc.array(fc.oneof(validHeader(target), fc.tuple(headerName, headerValue(target))), {
        minLength: 1,
        maxLength: 6,
      }),
      weight: 2,
    },
  );

const AUTH = {
  valid: [b("Authorization"), b(`Bearer ${TOKEN}`)],
  sloppy: [b("Authorization"), b(`bearer    ${TOKEN}   `)],
} as const;
type Auth = "valid" | "sloppy" | "none" | "wrong" | "basic" | "query" | "badQuery";
const auth: fc.Arbitrary<Auth> = fc.oneof(
  { arbitrary: fc.constant<Auth>("valid"), weight: 12 },
  { arbitrary: fc.constantFrom<Auth>("sloppy", "none", "wrong", "basic", "query", "badQuery"), weight: 3 },
);

// ---- bodies ----

/** Nested JSON arrays or objects `depth` levels deep. */
function nested(depth: number, kind: "array" | "object", inner = "1"): string {
  return kind === "array"
    ? "[".repeat(depth) + inner + "]".repeat(depth)
    : '{"a":'.repeat(depth) + inner + "}".repeat(depth);
}
const deepJson: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: 1000, max: 20_000 }), fc.constantFrom<"array" | "object">("array", "object"))
  .map(([depth, kind]) => nested(depth, kind));

const anyJson: fc.Arbitrary<unknown> = fc.jsonValue({ maxDepth: 3 });

const batchEntry = (target: Target): fc.Arbitrary<unknown> =>
  fc.oneof(
    {
      arbitrary: fc
        .record(
          {
            destination: destination(target).map((d) => d.toString("utf8")),
            headers: fc.array(validHeader(target), { maxLength: 3 }),
            body: fc.string({ maxLength: 100 }),
            queue: fc.constant(QUEUE),
          },
          { requiredKeys: ["destination"] },
        )
        .map(({ headers: pairs, ...entry }) => ({
          ...entry,
          ...(pairs ? { headers: Object.fromEntries(pairs.map(([n, v]) => [n, v.toString()])) } : {}),
        })),
      weight: 4,
    },
    {
      arbitrary: fc.record(
        {
          destination: fc.oneof(
            destination(target).map((d) => d.toString("utf8")),
            anyJson,
          ),
          headers: fc.oneof(
            // JSON carries what HTTP headers cannot: control characters, emoji, U+FFFF, lone surrogates.
            fc.dictionary(
              fc.oneof(headerName, fc.string({ unit: "binary", maxLength: 10 })),
              fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: "binary", maxLength: 10 }), anyJson),
              { maxKeys: 4 },
            ),
            anyJson,
          ),
          body: fc.oneof(fc.string({ maxLength: 200 }), anyJson),
          queue: fc.oneof(fc.constant(QUEUE), fc.string({ maxLength: 10 }), anyJson),
          extra: anyJson,
        },
        { requiredKeys: [] },
      ),
      weight: 5,
    },
    { arbitrary: anyJson, weight: 1 },
  );

/** Bodies shaped for the JSON routes, with wrong types and deep nesting where values go. */
const shapedJson = (target: Target): fc.Arbitrary<string> =>
  fc.oneof(
    // Batch entries are capped below so a run publishes little; sent to every route anyway.
    fc.array(batchEntry(target), { maxLength: 5 }).map((e) => JSON.stringify(e)),
    fc
      .tuple(fc.integer({ min: 1000, max: 10_000 }), fc.constantFrom("headers", "body", "destination", "queue"))
      .map(([depth, key]) => `[{"destination":"${target.sink}/fuzz/deep","${key}":${nested(depth, "object")}}]`),
    fc
      .record(
        {
          queueName: fc.oneof(fc.constant(QUEUE), fc.string({ maxLength: 10 }), anyJson),
          parallelism: fc.oneof(fc.integer({ min: -5, max: 200 }), anyJson),
          paused: anyJson,
        },
        { requiredKeys: [] },
      )
      .map((v) => JSON.stringify(v)),
    fc
      .oneof(
        fc.array(
          fc.record(
            {
              name: fc.oneof(fc.string({ maxLength: 10 }), anyJson),
              url: fc.oneof(destination(target).map(String), anyJson),
            },
            { requiredKeys: [] },
          ),
          { maxLength: 4 },
        ),
        anyJson,
      )
      .map((endpoints) => JSON.stringify({ endpoints })),
    fc
      .oneof(fc.array(fc.oneof(fc.string({ maxLength: 12 }), fc.constant("m".repeat(3000))), { maxLength: 4 }), anyJson)
      .map((messageIds) => JSON.stringify({ messageIds })),
    fc.integer({ min: 1000, max: 10_000 }).map((depth) => `{"messageIds":${nested(depth, "array", '"x"')}}`),
    fc.integer({ min: 1000, max: 10_000 }).map((depth) => `{"endpoints":${nested(depth, "array", "{}")}}`),
  );

/** What the route expects, mostly well-formed, so the fuzz reaches past the parsers. */
const expectedJson = (target: Target, route: string): fc.Arbitrary<string> | undefined => {
  if (route === "batch") return fc.array(batchEntry(target), { maxLength: 5 }).map((e) => JSON.stringify(e));
  if (route === "queues") {
    return fc
      .record({ queueName: fc.constantFrom(QUEUE, "fuzz-other", ""), parallelism: fc.integer({ min: -1, max: 20 }) })
      .map((v) => JSON.stringify(v));
  }
  if (route === "topics") {
    return fc
      .array(
        fc.record(
          { name: fc.constantFrom("e1", "e2"), url: destination(target).map(String) },
          { requiredKeys: ["url"] },
        ),
        {
          minLength: 1,
          maxLength: 3,
        },
      )
      .map((endpoints) => JSON.stringify({ endpoints }));
  }
  return undefined;
};

const body = (target: Target, route: string): fc.Arbitrary<Buffer> =>
  fc.oneof(
    { arbitrary: fc.constant(Buffer.alloc(0)), weight: 3 },
    { arbitrary: (expectedJson(target, route) ?? fc.string({ maxLength: 200 })).map(b), weight: 8 },
    { arbitrary: shapedJson(target).map(b), weight: 6 },
    { arbitrary: deepJson.map(b), weight: 2 },
    { arbitrary: anyJson.map((v) => b(JSON.stringify(v))), weight: 2 },
    { arbitrary: fc.string({ maxLength: 100 }).map(b), weight: 1 },
    { arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), weight: 2 },
    // Truncated JSON and a lone invalid UTF-8 byte inside a JSON string.
    {
      arbitrary: fc.constantFrom('[{"destination":', '{"endpoints": [', '[{"destination":"x","body":"\xff"}]').map(b),
      weight: 1,
    },
    {
      arbitrary: fc.constant(
        Buffer.concat([b('[{"destination":"x","body":"'), Buffer.from([0xc3, 0x28, 0xff]), b('"}]')]),
      ),
      weight: 1,
    },
    { arbitrary: fc.integer({ min: 10_000, max: 400_000 }).map((n) => Buffer.alloc(n, "a")), weight: 1 },
  );

// ---- requests ----

interface FuzzRequest {
  method: string;
  target: Buffer;
  headers: [Buffer, Buffer][];
  body: Buffer;
  chunked: boolean;
}

function fuzzRequest(target: Target): fc.Arbitrary<FuzzRequest> {
  const pathAndMethod = fc.oneof(
    { arbitrary: routePath(target), weight: 6 },
    { arbitrary: fc.tuple(method, randomPath).map(([m, path]) => ({ method: m, path })), weight: 2 },
    { arbitrary: fc.tuple(method, routePath(target)).map(([m, r]) => ({ method: m, path: r.path })), weight: 2 },
  );
  return pathAndMethod
    .chain((route) =>
      fc.record({
        route: fc.constant(route),
        query,
        auth,
        headers: headers(target),
        body: body(target, route.path.toString("latin1").split("/")[2]?.toLowerCase() ?? ""),
        chunked: fc.boolean(),
      }),
    )
    .map(({ route, query: q, auth: a, headers: pairs, body: payload, chunked }) => {
      const list: [Buffer, Buffer][] = pairs.map(([name, value]) => [b(name), value]);
      if (a === "valid" || a === "sloppy") list.push([...AUTH[a]]);
      if (a === "wrong") list.push([b("Authorization"), b("Bearer not-the-token")]);
      if (a === "basic") list.push([b("Authorization"), b("Basic dXNlcjpwYXNz")]);
      // Publishes that succeed must not keep Herald busy retrying: no retries unless the fuzzer set some.
      if (!pairs.some(([name]) => name.toLowerCase() === "upstash-retries")) list.push([b("Upstash-Retries"), b("0")]);
      let search = q;
      if (a === "query" || a === "badQuery") {
        const token = a === "query" ? TOKEN : "%zz";
        search = `${q === "" ? "?" : `${q}&`}qstash_token=${token}`;
      }
      const request: FuzzRequest = {
        method: route.method,
        target: Buffer.concat([route.path, b(search)]),
        headers: list,
        body: payload,
        chunked: chunked && payload.length > 0,
      };
      // fast-check prints counterexamples with this (Buffers would print as long byte arrays).
      return Object.assign(request, { [fc.toStringMethod]: () => describeRequest(request) });
    });
}

function describeRequest(request: FuzzRequest): string {
  const clip = (buffer: Buffer): string => JSON.stringify(buffer.subarray(0, 300).toString("latin1"));
  return `${request.method} ${clip(request.target)} headers=${request.headers
    .map(([n, v]) => `${clip(n)}: ${clip(v)}`)
    .join(", ")} body(${request.body.length}${request.chunked ? ", chunked" : ""})=${clip(request.body)}`;
}

/** Every answer is below 500; a 4xx carries a JSON error (`message` when the emulated gateway answers). */
function checkResponse(mode: HeraldMode, request: FuzzRequest, response: RawResponse): void {
  const context = `${describeRequest(request)}\n-> ${JSON.stringify(response.raw.subarray(0, 500).toString("latin1"))}`;
  if (response.status === undefined) {
    // The server may close without an answer only where HTTP allows none: never for a well-formed request.
    throw new Error(`no HTTP response (${response.error ?? "closed"}) for ${context}`);
  }
  expect(response.status, context).toBeLessThan(500);
  if (request.method === "HEAD") return;
  if (response.status >= 400) {
    expect(response.headers["content-type"], context).toBe("application/json");
    const parsed = JSON.parse(response.body.toString()) as Record<string, unknown>;
    const gateway =
      mode === "aws-local" &&
      [400, 405, 408, 413, 417, 431].includes(response.status) &&
      typeof parsed.message === "string";
    if (!gateway) expect(typeof parsed.error, context).toBe("string");
  } else if (response.body.length > 0) {
    expect(() => JSON.parse(response.body.toString()), context).not.toThrow();
  }
}

const PUBLISH_PATH = /^\/v2\/(publish|enqueue|batch)\//i;

/** The process still runs (checked after a moment, so a crash the request caused has happened). */
async function expectAlive(herald: HeraldProcess, context: string): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  if (herald.child.exitCode !== null || herald.child.signalCode !== null) {
    throw new Error(`Herald exited after ${context}:\n${herald.output().slice(-3000)}`);
  }
}

describeEachMode("fuzzing every route of the real server", (mode) => {
  let herald: HeraldProcess;
  let sink: Sink;
  let dataDir: string;

  beforeAll(async () => {
    sink = await Sink.start();
    dataDir = tempDir("herald-fuzz-");
    herald = await spawnHerald(process.execPath, [ENTRY[mode]], {
      PORT: "0",
      HERALD_DATA_DIR: dataDir,
      HERALD_TOKEN: TOKEN,
    });
    const api = (path: string, body: unknown): Promise<Response> =>
      fetch(`${herald.url}${path}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify(body),
      });
    expect((await api(`/v2/topics/${GROUP}/endpoints`, { endpoints: [{ url: `${sink.url}/group` }] })).status).toBe(
      200,
    );
    expect((await api("/v2/queues", { queueName: QUEUE, parallelism: 2 })).status).toBe(200);
  }, 120_000);

  afterAll(async () => {
    await herald?.kill("SIGTERM");
    await sink?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 90_000);

  it("answers every generated request below 500, with a JSON error for every 4xx, and keeps serving", async () => {
    let accepted = 0;
    await fc.assert(
      // Up to four requests at once: races between them must not surface as 5xx either.
      fc.asyncProperty(fc.array(fuzzRequest({ sink: sink.url }), { minLength: 1, maxLength: 4 }), async (requests) => {
        const responses = await Promise.all(
          requests.map((request) =>
            rawRequest(
              herald.url,
              requestBytes(request.method, request.target, request.headers, request.body, { chunked: request.chunked }),
            ),
          ),
        );
        await expectAlive(herald, requests.map(describeRequest).join("\n"));
        requests.forEach((request, i) => {
          const response = responses[i] as RawResponse;
          try {
            checkResponse(mode, request, response);
          } catch (error) {
            // The server's own log says why it answered 5xx.
            throw new Error(`${(error as Error).message}\nserver log (tail):\n${herald.output().slice(-6000)}`);
          }
          if (
            request.method === "POST" &&
            (response.status ?? 0) < 300 &&
            PUBLISH_PATH.test(request.target.toString())
          ) {
            accepted++;
          }
        });
      }),
      { numRuns: runs(mode), ...seed },
    );
    // The generators are meant to reach past validation: some publishes must have been accepted.
    expect(accepted).toBeGreaterThan(runs(mode) / 50);
    // Still serving and delivering after the run.
    const client = new Client({ baseUrl: herald.url, token: TOKEN, retry: false });
    await client.publish({ url: `${sink.url}/after-fuzz`, body: "still here" });
    const [got] = await sink.waitFor("/after-fuzz", 1, 30_000);
    expect(got?.body.toString()).toBe("still here");
    expect(herald.child.exitCode).toBeNull();
    // Nothing failed inside Herald: no 5xx logged, no delivery attempt that could not be made.
    expect(herald.output()).not.toMatch(/internal error|failed inside Herald|unhandled|uncaught/i);
  }, 240_000);

  it("survives arbitrary bytes on the wire: an answer, if any, is a 4xx JSON error", async () => {
    const garbage = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 2000 }).map((a) => Buffer.from(a)),
      fc
        .tuple(
          fc.constantFrom(
            "GET / HTTP/1.1\r\n",
            "POST /v2/batch HTTP/1.1\r\nContent-Length: 5\r\n",
            "GET /v2/keys HTTP/1.1\r\nHost: x\r\n",
          ),
          fc.uint8Array({ maxLength: 500 }),
        )
        .map(([start, rest]) => Buffer.concat([b(start), Buffer.from(rest)])),
      fc
        .constantFrom(
          "POST /v2/batch HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
          "POST /v2/batch HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
          "POST /v2/batch HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
          "POST /v2/batch HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
          "POST /v2/batch HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
          `POST /v2/publish/http://x.com HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 10\r\n\r\nabc`,
          `POST /v2/batch HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nTransfer-Encoding: gzip\r\n\r\n[]`,
          "POST /v2/batch HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
          "POST /v2/batch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
          "POST /v2/batch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=" + "e".repeat(20_000),
          "GET /v2/keys HTTP/9.9\r\n\r\n",
          "GET /v2/keys\r\n\r\n",
          "\r\n\r\n\r\n",
        )
        .map(b),
    );
    await fc.assert(
      fc.asyncProperty(garbage, async (bytes) => {
        const response = await rawRequest(herald.url, bytes, { halfClose: true });
        const context = JSON.stringify(bytes.subarray(0, 300).toString("latin1"));
        await expectAlive(herald, context);
        if (response.status === undefined) return; // closed: allowed for bytes that are no complete request
        expect(response.status, context).toBeLessThan(500);
        if (response.status >= 400) {
          const parsed = JSON.parse(response.body.toString()) as Record<string, unknown>;
          expect(typeof (parsed.error ?? parsed.message), context).toBe("string");
        }
      }),
      { numRuns: Math.ceil(runs(mode) / 2), ...seed },
    );
    const res = await fetch(`${herald.url}/v2/keys`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(herald.child.exitCode, herald.output()).toBeNull();
  }, 120_000);
});
