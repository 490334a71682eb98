import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import http from "node:http";
import https from "node:https";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { urlToHttpOptions } from "node:url";
import { addHeader, type HeaderMap } from "../../core/headers.ts";
import type { HttpSender, OutgoingRequest, SendOutcome } from "../../ports.ts";

/** Address ranges a delivery must not reach unless private destinations are allowed (DESIGN §5). */
function nonPublicRanges(): BlockList {
  const list = new BlockList();
  for (const [net, prefix] of [
    ["0.0.0.0", 8],
    ["10.0.0.0", 8],
    ["100.64.0.0", 10],
    ["127.0.0.0", 8],
    ["169.254.0.0", 16],
    ["172.16.0.0", 12],
    ["192.0.0.0", 24],
    ["192.168.0.0", 16],
    ["198.18.0.0", 15],
    ["224.0.0.0", 4],
    ["240.0.0.0", 4],
  ] as const) {
    list.addSubnet(net, prefix, "ipv4");
  }
  for (const [net, prefix] of [
    ["::", 128],
    ["::1", 128],
    ["::ffff:0:0", 96],
    ["64:ff9b::", 96],
    ["fc00::", 7],
    ["fe80::", 10],
    ["ff00::", 8],
  ] as const) {
    list.addSubnet(net, prefix, "ipv6");
  }
  return list;
}

interface Destination {
  /** What node:http makes of the URL (host, port, path, auth), before method, headers and agent. */
  options: http.RequestOptions;
  isHttps: boolean;
  /** The host as written, IPv6 brackets removed: checked against the blocked ranges when it is an address. */
  literal: string;
}

/** Parsed destinations by URL: most deliveries go to a few URLs, and parsing one is a measurable part of a send. */
const MAX_CACHED_DESTINATIONS = 1024;

export interface NodeHttpSenderOptions {
  /** Allow loopback, private and link-local destinations (local mode's default; refused on AWS). */
  allowPrivateNetworks: boolean;
  maxResponseBodyBytes: number;
}

/**
 * Sends one attempt with node:http(s): keep-alive, no redirect following, a hard timeout, and — when
 * private networks are refused — the check made on the address actually connected to (inside the DNS
 * lookup of the socket), so a name cannot resolve to a public address for a check and a private one
 * for the connection.
 */
export class NodeHttpSender implements HttpSender {
  private readonly options: NodeHttpSenderOptions;
  private readonly blocked = nonPublicRanges();
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256 });
  private readonly destinations = new Map<string, Destination>();

  constructor(options: NodeHttpSenderOptions) {
    this.options = options;
  }

  private isBlocked(address: string): boolean {
    const family = isIP(address);
    return family !== 0 && this.blocked.check(address, family === 6 ? "ipv6" : "ipv4");
  }

  private readonly guardedLookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, "", 0);
      const allowed = addresses.filter((a) => !this.isBlocked(a.address));
      if (allowed.length === 0) {
        return callback(new Error(`destination ${hostname} resolves to a non-public address`), "", 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
      const first = allowed[0] as LookupAddress;
      callback(null, first.address, first.family);
    });
  };

  private destination(rawUrl: string): Destination | undefined {
    let destination = this.destinations.get(rawUrl);
    if (!destination) {
      let url: URL;
      try {
        url = new URL(rawUrl);
      } catch {
        return undefined;
      }
      destination = {
        options: urlToHttpOptions(url),
        isHttps: url.protocol === "https:",
        literal: url.hostname.replace(/^\[|\]$/g, ""),
      };
      if (this.destinations.size >= MAX_CACHED_DESTINATIONS) this.destinations.clear();
      this.destinations.set(rawUrl, destination);
    }
    return destination;
  }

  send(request: OutgoingRequest): Promise<SendOutcome> {
    return new Promise((resolve) => {
      const destination = this.destination(request.url);
      if (!destination) return resolve({ kind: "error", error: "invalid destination url" });
      const guard = !this.options.allowPrivateNetworks;
      const { literal, isHttps } = destination;
      if (guard && this.isBlocked(literal)) {
        return resolve({ kind: "error", error: "destination is a non-public address" });
      }
      const headers: Record<string, string | number> = { ...request.headers };
      if (request.body.byteLength > 0 || !["GET", "HEAD", "DELETE"].includes(request.method)) {
        headers["Content-Length"] = request.body.byteLength;
      }
      let settled = false;
      const finish = (outcome: SendOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      const req = (isHttps ? https : http).request({
        ...destination.options,
        method: request.method,
        headers,
        agent: isHttps ? this.httpsAgent : this.httpAgent,
        ...(guard ? { lookup: this.guardedLookup } : {}),
      });
      const timer = setTimeout(() => {
        finish({ kind: "error", error: `timed out after ${request.timeoutMs} ms` });
        req.destroy();
      }, request.timeoutMs);
      req.on("error", (error) => finish({ kind: "error", error: `request failed: ${error.message}` }));
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          if (size < this.options.maxResponseBodyBytes) chunks.push(chunk);
          size += chunk.length;
        });
        res.on("error", (error) => finish({ kind: "error", error: `response failed: ${error.message}` }));
        res.on("end", () => {
          const header: HeaderMap = {};
          // Name/value pairs as received (addHeader canonicalizes names and groups repeated ones).
          const raw = res.rawHeaders;
          for (let i = 0; i + 1 < raw.length; i += 2) addHeader(header, raw[i] as string, raw[i + 1] as string);
          const body = Buffer.concat(chunks);
          finish({
            kind: "response",
            status: res.statusCode ?? 0,
            header,
            body: new Uint8Array(
              body.buffer,
              body.byteOffset,
              Math.min(body.length, this.options.maxResponseBodyBytes),
            ),
          });
        });
      });
      req.end(request.body.byteLength > 0 ? request.body : undefined);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
