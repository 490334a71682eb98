// The destination policy where it is authoritative: NodeHttpSender against real HTTP servers. A URL the
// policy refuses must never produce a request at a server listening there, whatever its spelling, the DNS
// answers behind it, or a redirect pointing at it.
import type { LookupAddress } from "node:dns";
import net from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { NodeHttpSender, type LookupAll } from "../../../lambdas/adapters/http/http-sender.ts";
import {
  ANY_DESTINATION,
  PUBLIC_DESTINATIONS,
  parseDestinationPolicy,
  type DestinationPolicy,
} from "../../../lambdas/core/destination-policy.ts";
import type { SendOutcome } from "../../../lambdas/ports.ts";
import { Sink } from "../../support/sink.ts";

const senders: NodeHttpSender[] = [];
function sender(destinations: DestinationPolicy, lookup?: LookupAll): NodeHttpSender {
  const made = new NodeHttpSender({ destinations, maxResponseBodyBytes: 1024, ...(lookup ? { lookup } : {}) });
  senders.push(made);
  return made;
}
afterEach(() => {
  for (const s of senders.splice(0)) s.close();
  vi.restoreAllMocks();
});

const send = (s: NodeHttpSender, url: string): Promise<SendOutcome> =>
  s.send({
    url,
    method: "POST",
    headers: { "Content-Type": "text/plain" },
    body: Buffer.from("secret"),
    timeoutMs: 3000,
  });

/** A resolver with fixed answers per name (in turn, when a name has several), counting its calls. */
function fakeDns(answers: Record<string, string[][]>): LookupAll & { calls: string[] } {
  const calls: string[] = [];
  const lookup = ((hostname, _options, callback) => {
    calls.push(hostname);
    const turns = answers[hostname];
    if (!turns)
      return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" }), []);
    const addresses = turns[(calls.filter((c) => c === hostname).length - 1) % turns.length] as string[];
    const result: LookupAddress[] = addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
    setImmediate(() => callback(null, result));
  }) as LookupAll & { calls: string[] };
  lookup.calls = calls;
  return lookup;
}

/** The hosts sockets were asked to connect to. */
function spyOnConnects(): string[] {
  const hosts: string[] = [];
  const original = net.Socket.prototype.connect;
  vi.spyOn(net.Socket.prototype, "connect").mockImplementation(function (this: net.Socket, ...args: unknown[]) {
    const first = (Array.isArray(args[0]) ? args[0][0] : args[0]) as { host?: string } | undefined;
    if (first && typeof first === "object") hosts.push(String(first.host));
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  });
  return hosts;
}

let sink: Sink; // on every interface, IPv4 and IPv6: any spelling of loopback reaches it
beforeAll(async () => {
  sink = await Sink.start("::");
});
afterAll(() => sink.close());

const loopbackSpellings = (port: number): string[] => [
  `http://localhost:${port}/localhost`,
  `http://127.0.0.1:${port}/dotted`,
  `http://127.0.0.1.:${port}/trailing-dot`,
  `http://[::1]:${port}/ipv6`,
  `http://2130706433:${port}/decimal`,
  `http://0x7f.1:${port}/hex`,
  `http://127.1:${port}/short`,
  `http://0177.0.0.1:${port}/octal`,
  `http://[::ffff:127.0.0.1]:${port}/mapped`,
  `http://0.0.0.0:${port}/this-network`,
  `http://[::]:${port}/unspecified`,
  // The Lambda runtime API lives at AWS_LAMBDA_RUNTIME_API, 127.0.0.1:9001 in a Lambda; here at the sink.
  `http://127.0.0.1:${port}/2018-06-01/runtime/invocation/next`,
];

describe("NodeHttpSender under the public policy", () => {
  it("never sends a request to loopback, however the URL spells it", async () => {
    const before = sink.received.length;
    const urls = loopbackSpellings(sink.port);
    const outcomes = await Promise.all(urls.map((url) => send(sender(PUBLIC_DESTINATIONS), url)));
    expect(sink.received.length - before).toBe(0);
    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({
        kind: "error",
        error: expect.stringMatching(/^refused by the destination policy: /),
      });
    }
    expect(outcomes[0]).toEqual({
      kind: "error",
      error: expect.stringMatching(
        /^refused by the destination policy: localhost resolves to (127\.0\.0\.1|::1), a loopback address$/,
      ),
    });
    expect(outcomes[4]).toEqual({
      kind: "error",
      error: "refused by the destination policy: 127.0.0.1 is a loopback address",
    });
  });

  it("delivers the same URLs under the any policy (local mode's default)", async () => {
    const urls = loopbackSpellings(sink.port);
    const outcomes = await Promise.all(urls.map((url) => send(sender(ANY_DESTINATION), url)));
    for (const outcome of outcomes) expect(outcome).toMatchObject({ kind: "response", status: 200 });
    for (const url of urls) expect(sink.at(new URL(url).pathname).length).toBeGreaterThan(0);
  });

  it("refuses the metadata service and private literals without opening a connection", async () => {
    const connects = spyOnConnects();
    const s = sender(PUBLIC_DESTINATIONS);
    const cases = [
      [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "169.254.169.254 is the cloud metadata service",
      ],
      ["http://[fd00:ec2::254]/latest/meta-data/", "[fd00:ec2::254] is the cloud metadata service"],
      ["http://169.254.170.2/v2/credentials", "169.254.170.2 is a link-local address"],
      ["http://10.0.0.1/", "10.0.0.1 is a private address"],
      ["https://192.168.1.1/", "192.168.1.1 is a private address"],
      ["http://100.100.100.200/", "100.100.100.200 is a shared (carrier-grade NAT) address"],
      ["http://[fe80::1]/", "[fe80::1] is a link-local address"],
      ["http://[64:ff9b::a9fe:a9fe]/", "[64:ff9b::a9fe:a9fe] is the cloud metadata service (NAT64)"],
    ];
    for (const [url, reason] of cases) {
      expect(await send(s, url as string)).toEqual({
        kind: "error",
        error: `refused by the destination policy: ${reason}`,
      });
    }
    expect(connects).toEqual([]);
    await send(sender(ANY_DESTINATION), `${sink.url}/spy-check`); // the spy does see connections
    expect(connects).toEqual(["127.0.0.1"]);
  });

  it("refuses a name that resolves only to non-public addresses, and says which", async () => {
    const dns = fakeDns({
      "loopback.test": [["127.0.0.1"]],
      "mixed.test": [["::1", "10.0.0.7", "127.0.0.1"]],
      "metadata.test": [["169.254.169.254"]],
    });
    const s = sender(PUBLIC_DESTINATIONS, dns);
    const port = sink.port;
    const before = sink.received.length;
    expect(await send(s, `http://loopback.test:${port}/`)).toEqual({
      kind: "error",
      error: "refused by the destination policy: loopback.test resolves to 127.0.0.1, a loopback address",
    });
    expect(await send(s, `http://mixed.test:${port}/`)).toEqual({
      kind: "error",
      error: "refused by the destination policy: mixed.test resolves to ::1, a loopback address",
    });
    expect(await send(s, `http://metadata.test/latest/meta-data/`)).toEqual({
      kind: "error",
      error: "refused by the destination policy: metadata.test resolves to 169.254.169.254, the cloud metadata service",
    });
    expect(sink.received.length - before).toBe(0);
    expect(dns.calls).toEqual(["loopback.test", "mixed.test", "metadata.test"]);

    // The same resolver under `any`: the name reaches the sink, so the refusal above was the policy's.
    expect(await send(sender(ANY_DESTINATION, dns), `http://loopback.test:${port}/resolved-any`)).toMatchObject({
      kind: "response",
      status: 200,
    });
    expect(sink.at("/resolved-any")).toHaveLength(1);
  });

  it("connects only to the address it checked when DNS answers change between calls (rebinding)", async () => {
    // A trusted server (allow-listed) and an internal one on the same port; the name alternates between them.
    const internal = await Sink.start("127.0.0.1");
    const trusted = await Sink.start("127.0.0.2", internal.port);
    trusted.reply = () => ({ status: 200, headers: { Connection: "close" }, body: "ok" }); // a new lookup each time
    try {
      const dns = fakeDns({ "rebind.test": [["127.0.0.2"], ["127.0.0.1"]] });
      const s = sender(parseDestinationPolicy("public", "127.0.0.2/32"), dns);
      const outcomes: SendOutcome[] = [];
      for (let i = 0; i < 10; i++) outcomes.push(await send(s, `http://rebind.test:${internal.port}/rebind`));
      expect(internal.received).toHaveLength(0);
      expect(trusted.received).toHaveLength(5);
      expect(dns.calls).toHaveLength(10);
      expect(outcomes.filter((o) => o.kind === "error").map((o) => o.kind === "error" && o.error)).toEqual(
        new Array(5).fill("refused by the destination policy: rebind.test resolves to 127.0.0.1, a loopback address"),
      );
    } finally {
      await internal.close();
      await trusted.close();
    }
  });

  it("lets an allow-listed host name and an allow-listed range through, and nothing else", async () => {
    const dns = fakeDns({ "hooks.internal.test": [["127.0.0.1"]], "other.internal.test": [["127.0.0.1"]] });
    const byName = sender(parseDestinationPolicy("public", "hooks.internal.test"), dns);
    const port = sink.port;
    expect(await send(byName, `http://hooks.internal.test:${port}/allowed-name`)).toMatchObject({ status: 200 });
    expect(await send(byName, `http://other.internal.test:${port}/other-name`)).toMatchObject({ kind: "error" });
    expect(await send(byName, `http://127.0.0.1:${port}/name-not-address`)).toMatchObject({ kind: "error" });

    const byRange = sender(parseDestinationPolicy("public", "127.0.0.0/8"), dns);
    expect(await send(byRange, `http://127.0.0.1:${port}/allowed-range`)).toMatchObject({ status: 200 });
    expect(await send(byRange, `http://other.internal.test:${port}/allowed-range-by-name`)).toMatchObject({
      status: 200,
    });
    expect(await send(byRange, `http://[::1]:${port}/outside-range`)).toMatchObject({ kind: "error" });

    for (const path of ["/allowed-name", "/allowed-range", "/allowed-range-by-name"])
      expect(sink.at(path)).toHaveLength(1);
    for (const path of ["/other-name", "/name-not-address", "/outside-range"]) expect(sink.at(path)).toHaveLength(0);
  });
});

describe("NodeHttpSender and redirects", () => {
  it("records a 3xx as the response and never follows it, under either policy", async () => {
    const internal = await Sink.start("127.0.0.1");
    const redirecting = await Sink.start("127.0.0.1");
    redirecting.reply = (request) => ({
      status: request.path === "/to-metadata" ? 302 : 307,
      headers: {
        Location:
          request.path === "/to-metadata" ? "http://169.254.169.254/latest/meta-data/" : `${internal.url}/stolen`,
      },
    });
    const connects = spyOnConnects();
    try {
      for (const policy of [ANY_DESTINATION, parseDestinationPolicy("public", "127.0.0.1")]) {
        const s = sender(policy);
        expect(await send(s, `${redirecting.url}/to-metadata`)).toMatchObject({
          kind: "response",
          status: 302,
          header: { Location: ["http://169.254.169.254/latest/meta-data/"] },
        });
        expect(await send(s, `${redirecting.url}/to-internal`)).toMatchObject({ kind: "response", status: 307 });
      }
      expect(internal.received).toHaveLength(0);
      expect(redirecting.received).toHaveLength(4);
      expect(connects.length).toBeGreaterThan(0);
      expect(connects.filter((host) => host !== "127.0.0.1")).toEqual([]);
    } finally {
      await internal.close();
      await redirecting.close();
    }
  });
});

describe("kept-alive connections", () => {
  it("are reused while busy, closed once idle, and an attempt longer than the idle timeout still completes", async () => {
    const http = await import("node:http");
    let connections = 0;
    let closed = 0;
    const server = http.createServer((req, res) => {
      const delay = req.url === "/slow" ? 600 : 0;
      setTimeout(() => res.end("ok"), delay);
    });
    server.keepAliveTimeout = 0; // this destination never closes an idle connection itself
    server.on("connection", (socket) => {
      connections += 1;
      socket.on("close", () => (closed += 1));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    const made = new NodeHttpSender({
      destinations: ANY_DESTINATION,
      maxResponseBodyBytes: 1024,
      idleSocketTimeoutMs: 300,
    });
    senders.push(made);
    try {
      expect(await send(made, `http://127.0.0.1:${port}/a`)).toMatchObject({ kind: "response", status: 200 });
      expect(await send(made, `http://127.0.0.1:${port}/b`)).toMatchObject({ kind: "response", status: 200 });
      expect(connections).toBe(1);
      expect(await send(made, `http://127.0.0.1:${port}/slow`)).toMatchObject({ kind: "response", status: 200 });
      await vi.waitFor(() => expect(closed).toBe(1), { timeout: 3000, interval: 50 });
    } finally {
      server.close();
    }
  });
});
