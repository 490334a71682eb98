// Auth probes on every route of the route table (imported, so a new route is probed without editing
// this file): every way of not holding this deployment's token gets 401 JSON that echoes nothing; the
// read-only token reads and gets 403 JSON on every write, and changes nothing.
import http from "node:http";
import { Client } from "@upstash/qstash";
import { beforeAll, describe, expect, it } from "vitest";
import { matchRoute } from "../../lambdas/api/router.ts";
import { ROUTES, type Route } from "../../lambdas/api/routes.ts";
import { startLocalServer } from "../../lambdas/server/embedded-server.ts";
import {
  describeEachMode,
  eventually,
  holdAnswers,
  readMessage,
  tempDir,
  useHeraldWithSink,
} from "../support/herald.ts";

/** Destinations for the routes whose parameter is the rest of the path; a new such route needs one. */
const REST_SAMPLES: Record<string, (sink: string) => string> = {
  "v2/publish": (sink) => `${sink}/probe`,
  "v2/enqueue": (sink) => `probe-queue/${sink}/probe`,
  "v2/schedules": (sink) => `${sink}/probe`,
  "v2/notify": () => "probe-run/probe-event",
};

const label = (route: Route): string =>
  [
    `${route.method} /${route.segments.join("/")}`,
    ...(route.param === "id" ? [":id"] : route.param === "rest" ? ["<destination>"] : []),
    ...(route.suffix ?? []),
  ].join("/");

/** A concrete path that reaches exactly this route (checked against the router). */
function samplePath(route: Route, sink: string): string {
  const base = `/${route.segments.join("/")}`;
  let path = base;
  if (route.param === "rest") {
    const sample = REST_SAMPLES[route.segments.join("/")];
    if (!sample) throw new Error(`no sample destination for ${label(route)}: add one to REST_SAMPLES`);
    path = `${base}/${sample(sink)}`;
  } else if (route.param === "id") {
    path = [base, "probe-id", ...(route.suffix ?? [])].join("/");
  }
  expect(matchRoute(route.method, path).match?.route).toBe(route);
  return path;
}

interface Probe {
  name: string;
  /** Header lines as sent; a name may repeat. */
  headers: [string, string][];
  query?: string;
}

interface Answer {
  status: number;
  contentType: string | undefined;
  text: string;
}

/** One request with exact header lines (fetch cannot repeat a header). */
function send(url: string, method: string, headers: [string, string][]): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          contentType: res.headers["content-type"],
          text: Buffer.concat(chunks).toString("utf8"),
        }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    const byName = new Map<string, string[]>();
    for (const [name, value] of headers) byName.set(name, [...(byName.get(name) ?? []), value]);
    for (const [name, values] of byName) req.setHeader(name, values.length === 1 ? (values[0] as string) : values);
    req.end();
  });
}

function expectJsonError(answer: Answer, status: number, secrets: string[]): string {
  expect({ status: answer.status, body: answer.text }).toMatchObject({ status });
  expect(answer.contentType).toBe("application/json");
  const body = JSON.parse(answer.text) as { error: unknown };
  expect(Object.keys(body)).toEqual(["error"]);
  expect(typeof body.error).toBe("string");
  for (const secret of secrets) expect(answer.text).not.toContain(secret);
  return body.error as string;
}

describeEachMode("auth probes on every route", (mode) => {
  const setup = useHeraldWithSink({ mode });
  const other = { token: "", readOnlyToken: "" };
  let keysBefore: { current: string; next: string };

  beforeAll(async () => {
    // Another deployment: its own tokens, generated the same way.
    const another = await startLocalServer({ port: 0, dataDir: tempDir() });
    Object.assign(other, { token: another.token, readOnlyToken: another.readOnlyToken });
    await another.close();
    keysBefore = (await (await setup.herald.api("/v2/keys")).json()) as typeof keysBefore;
  });

  const url = (path: string, query?: string): string =>
    `${setup.herald.server.url}${path}${query === undefined ? "" : `${path.includes("?") ? "&" : "?"}${query}`}`;
  /** Everything that must never appear in a response: this deployment's secrets and the other's tokens. */
  const secrets = (): string[] => [
    setup.herald.server.token,
    setup.herald.server.readOnlyToken,
    keysBefore.current,
    keysBefore.next,
    other.token,
    other.readOnlyToken,
  ];

  function unauthorizedProbes(): Probe[] {
    const { token } = setup.herald.server;
    const wrong = "hrld_wrongWrongWrongWrongWrongWrongWrongWr";
    return [
      { name: "no token", headers: [] },
      { name: "wrong token", headers: [["Authorization", `Bearer ${wrong}`]] },
      { name: "wrong token in the query", headers: [], query: `qstash_token=${wrong}` },
      {
        name: "wrong token in the query beside a sender's own Authorization",
        headers: [["Authorization", "Basic dXNlcjpwYXNz"]],
        query: `qstash_token=${wrong}`,
      },
      { name: "another deployment's token", headers: [["Authorization", `Bearer ${other.token}`]] },
      { name: "another deployment's read-only token", headers: [["Authorization", `Bearer ${other.readOnlyToken}`]] },
      { name: "another deployment's token in the query", headers: [], query: `qstash_token=${other.token}` },
      {
        name: "the token as Basic credentials",
        headers: [["Authorization", `Basic ${Buffer.from(`${token}:`).toString("base64")}`]],
      },
      { name: "an empty Bearer", headers: [["Authorization", "Bearer "]] },
      { name: "an empty query token", headers: [], query: "qstash_token=" },
      {
        name: "the token then a wrong one, as two Authorization headers",
        headers: [
          ["Authorization", `Bearer ${token}`],
          ["Authorization", `Bearer ${wrong}`],
        ],
      },
      {
        name: "a wrong token then the token, as two Authorization headers",
        headers: [
          ["Authorization", `Bearer ${wrong}`],
          ["Authorization", `Bearer ${token}`],
        ],
      },
      { name: "the token with a character more", headers: [["Authorization", `Bearer ${token}x`]] },
      { name: "a very long token", headers: [["Authorization", `Bearer ${"A".repeat(8_000)}`]] },
      { name: "a very long token in the query", headers: [], query: `qstash_token=${"A".repeat(4_000)}` },
    ];
  }

  describe("without this deployment's token", () => {
    it.each(ROUTES.map((route) => [label(route), route] as const))("%s answers 401 JSON", async (_label, route) => {
      const path = samplePath(route, setup.sink.url);
      const probes = unauthorizedProbes();
      const answers = await Promise.all(probes.map((p) => send(url(path, p.query), route.method, p.headers)));
      answers.forEach((answer, i) => {
        const probe = probes[i] as Probe;
        const sent = [...probe.headers.map(([, value]) => value), ...(probe.query ? [probe.query] : [])];
        try {
          expectJsonError(answer, 401, [...secrets(), ...sent.filter((value) => value.length > 12)]);
        } catch (error) {
          throw new Error(`${probe.name}: ${(error as Error).message}`);
        }
      });
    });
  });

  describe("with the read-only token", () => {
    it.each(ROUTES.map((route) => [label(route), route] as const))(
      "%s reads, or answers 403 JSON to a write",
      async (_label, route) => {
        const path = samplePath(route, setup.sink.url);
        const { readOnlyToken } = setup.herald.server;
        const answers = await Promise.all([
          send(url(path), route.method, [["Authorization", `Bearer ${readOnlyToken}`]]),
          send(url(path, `qstash_token=${readOnlyToken}`), route.method, []),
        ]);
        for (const answer of answers) {
          if (route.access === "read") {
            expect([200, 404], answer.text).toContain(answer.status);
            expect(answer.contentType).toBe("application/json");
            for (const secret of secrets()) expect(answer.text).not.toContain(secret);
          } else {
            expect(expectJsonError(answer, 403, secrets())).toMatch(/read-only/);
          }
        }
      },
    );

    it("works with the official SDK: reads succeed, a publish is refused with 403", async () => {
      const client = new Client({
        baseUrl: setup.herald.server.url,
        token: setup.herald.server.readOnlyToken,
        retry: false,
      });
      expect(Array.isArray(await client.schedules.list())).toBe(true);
      expect(Array.isArray((await client.logs()).logs)).toBe(true);
      await expect(client.publishJSON({ url: `${setup.sink.url}/probe-sdk`, body: { a: 1 } })).rejects.toMatchObject({
        status: 403,
      });
      await expect(client.messages.delete("msg_probe")).rejects.toMatchObject({ status: 403 });
    });

    it("changed nothing: no delivery, no message, no resource, the same signing keys", async () => {
      // A message published with the deployment's token after every probe: once it is delivered and
      // logged, anything a probe had published would have been too.
      await setup.herald.client.publish({ url: `${setup.sink.url}/control`, body: "control" });
      await setup.sink.waitFor("/control", 1, 30_000);
      const logs = await eventually(async () => {
        const res = (await (await setup.herald.api("/v2/logs")).json()) as { logs: { url: string }[] };
        return res.logs.some((log) => log.url.endsWith("/control")) ? res.logs : undefined;
      }, 30_000);
      expect(logs.filter((log) => log.url.includes("/probe"))).toEqual([]);
      expect(setup.sink.received.map((r) => r.path)).toEqual(["/control"]);
      for (const list of ["/v2/queues", "/v2/schedules", "/v2/topics", "/v2/flowControl"]) {
        const text = await (await setup.herald.api(list)).text();
        expect(text, list).not.toContain("probe");
      }
      const dlq = (await (await setup.herald.api("/v2/dlq")).json()) as { messages: unknown[] };
      expect(dlq.messages).toEqual([]);
      expect(await (await setup.herald.api("/v2/keys")).json()).toEqual(keysBefore);
    });
  });

  describe("a valid token in the query", () => {
    const tokenQuery = (): string => `qstash_token=${encodeURIComponent(setup.herald.server.token)}`;

    it("authenticates a publish and an enqueue, and never reaches the destination or the stored message", async () => {
      const release = holdAnswers(setup.sink, "/stripped?a=1", 3000); // in flight, so still readable
      const published = await fetch(url(`/v2/publish/${setup.sink.url}/stripped?a=1`, tokenQuery()), {
        method: "POST",
        body: "hello",
      });
      expect(published.status).toBe(200);
      const { messageId } = (await published.json()) as { messageId: string };
      const enqueued = await fetch(url(`/v2/enqueue/strip-queue/${setup.sink.url}/stripped-enqueue`, tokenQuery()), {
        method: "POST",
        body: "hello",
      });
      expect(enqueued.status).toBe(200);
      const [got] = await setup.sink.waitFor("/stripped?a=1", 1, 30_000);
      await setup.sink.waitFor("/stripped-enqueue", 1, 30_000);
      expect(JSON.stringify(got?.headers)).not.toContain(setup.herald.server.token);
      const message = await readMessage(setup.herald, messageId);
      expect(message.url).toBe(`${setup.sink.url}/stripped?a=1`);
      expect(JSON.stringify(message)).not.toContain(setup.herald.server.token);
      release();
      const logs = await eventually(async () => {
        const text = await (await setup.herald.api("/v2/logs")).text();
        return text.includes("stripped-enqueue") ? text : undefined;
      }, 30_000);
      expect(logs).not.toContain(setup.herald.server.token);
      expect(logs).not.toContain("qstash_token");
    });

    it("authenticates a schedule, whose stored destination keeps its own query only", async () => {
      const res = await fetch(url(`/v2/schedules/${setup.sink.url}/scheduled?b=2`, tokenQuery()), {
        method: "POST",
        headers: { "Upstash-Cron": "0 0 1 1 *" },
        body: "x",
      });
      expect(res.status).toBe(200);
      const { scheduleId } = (await res.json()) as { scheduleId: string };
      const schedule = (await (await setup.herald.api(`/v2/schedules/${scheduleId}`)).json()) as {
        destination: string;
      };
      expect(schedule.destination).toBe(`${setup.sink.url}/scheduled?b=2`);
      expect(JSON.stringify(schedule)).not.toContain(setup.herald.server.token);
    });
  });

  describe("with the deployment's token", () => {
    // The control for the probes above: the same requests with the right token are not refused.
    it.each(ROUTES.map((route) => [label(route), route] as const))("%s is not refused", async (_label, route) => {
      const path = samplePath(route, setup.sink.url).replaceAll("/probe", "/full-token");
      const answer = await send(url(path), route.method, [["Authorization", `Bearer ${setup.herald.server.token}`]]);
      expect([401, 403]).not.toContain(answer.status);
      expect(answer.status, answer.text).toBeLessThan(500);
    });
  });
});
