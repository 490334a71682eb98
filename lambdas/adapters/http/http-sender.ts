import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from "node:dns";
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { urlToHttpOptions } from "node:url";
import { destinationRefusal, parseIp, type DestinationPolicy } from "../../core/destination-policy.ts";
import { addHeader, type HeaderMap } from "../../core/headers.ts";
import type { HttpSender, OutgoingRequest, SendOutcome } from "../../ports.ts";

interface Destination {
  /** What node:http makes of the URL (host, port, path, auth), before method, headers and agent. */
  options: http.RequestOptions;
  isHttps: boolean;
  /** Why the policy refuses the host, when it is an IP address (a name is judged when resolved). */
  refusal: string | undefined;
}

/** Parsed destinations by URL: most deliveries go to a few URLs, and parsing one is a measurable part of a send. */
const MAX_CACHED_DESTINATIONS = 1024;

/** Resolves a name to all its addresses: node:dns `lookup` with `all: true`. */
export type LookupAll = (
  hostname: string,
  options: LookupAllOptions,
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

export interface NodeHttpSenderOptions {
  /** Which addresses may be connected to (core/destination-policy.ts). */
  destinations: DestinationPolicy;
  maxResponseBodyBytes: number;
  /** Name resolution, default node:dns `lookup` (tests give answers that change between calls). */
  lookup?: LookupAll;
  /** How long a kept-alive connection may sit unused before it is closed (default 30 s). */
  idleSocketTimeoutMs?: number;
}

/**
 * Kept-alive connections are closed after this long unused: destinations choose whether to close idle
 * connections, and without it connections to many hosts that never do would hold file descriptors for
 * the life of the process. A busy destination's connection is reused long before.
 */
const IDLE_SOCKET_TIMEOUT_MS = 30_000;

/** How a request fails on a kept-alive connection the other side had already closed. */
const STALE_CONNECTION_CODES = new Set(["ECONNRESET", "EPIPE"]);

/** Headers about one connection, not the message (RFC 9110 §7.6.1): not reported as the response's. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** A connection the destination policy refused: its message is the whole error text of the attempt. */
class PolicyRefusal extends Error {}

/**
 * Sends one attempt with node:http(s): keep-alive, no redirect following, a hard timeout, and the
 * destination policy applied to the address actually connected to: inside the socket's DNS lookup, whose
 * answer is both checked and connected to, so a name cannot resolve to a public address for a check and
 * a private one for the connection. An IP literal is not looked up: it is checked before the request.
 */
export class NodeHttpSender implements HttpSender {
  private readonly options: NodeHttpSenderOptions;
  private readonly lookup: LookupAll;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly destinations = new Map<string, Destination>();

  constructor(options: NodeHttpSenderOptions) {
    this.options = options;
    this.lookup = options.lookup ?? dnsLookup;
    // The agent's socket timeout closes a socket only while it is free (Node's agent destroys a free
    // socket on timeout); an attempt in progress has its own timer (send()).
    const agentOptions = {
      keepAlive: true,
      maxSockets: 256,
      timeout: options.idleSocketTimeoutMs ?? IDLE_SOCKET_TIMEOUT_MS,
    };
    this.httpAgent = new http.Agent(agentOptions);
    this.httpsAgent = new https.Agent(agentOptions);
  }

  private readonly guardedLookup: LookupFunction = (hostname, options, callback) => {
    this.lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, "", 0);
      const policy = this.options.destinations;
      const allowed = addresses.filter((a) => destinationRefusal(policy, hostname, a.address) === undefined);
      if (allowed.length === 0) {
        const first = addresses[0];
        const why = first
          ? `${hostname} resolves to ${first.address}, ${destinationRefusal(policy, hostname, first.address)}`
          : `${hostname} resolves to no address`;
        return callback(new PolicyRefusal(`refused by the destination policy: ${why}`), "", 0);
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
      const host = url.hostname;
      const reason = parseIp(host) ? destinationRefusal(this.options.destinations, host, host) : undefined;
      destination = {
        options: urlToHttpOptions(url),
        isHttps: url.protocol === "https:",
        refusal: reason === undefined ? undefined : `refused by the destination policy: ${host} is ${reason}`,
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
      const { refusal, isHttps } = destination;
      if (refusal !== undefined) return resolve({ kind: "error", error: refusal });
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
      let req: http.ClientRequest;
      const timer = setTimeout(() => {
        finish({ kind: "error", error: `timed out after ${request.timeoutMs} ms` });
        req.destroy();
      }, request.timeoutMs);
      const start = (fresh: boolean): void => {
        req = (isHttps ? https : http).request({
          ...destination.options,
          method: request.method,
          headers,
          // A fresh connection of its own for the resend below (the pool may hold more dead ones).
          agent: fresh ? false : isHttps ? this.httpsAgent : this.httpAgent,
          lookup: this.guardedLookup,
        });
        let answered = false;
        req.on("error", (error: NodeJS.ErrnoException) => {
          // A kept-alive connection the destination closed while it sat idle (unannounced, or while a Lambda
          // was frozen) fails the next request on it before any answer: resend once on a new connection, as
          // Node's docs advise (https://nodejs.org/api/http.html#requestreusedsocket). Such a destination
          // closed the connection before reading it; one that read it and then reset the connection gets a
          // second copy, as a retry would give it (at-least-once). Not after the attempt ended: the timer's
          // destroy ends in this same reset.
          if (settled) return;
          if (!fresh && !answered && req.reusedSocket && STALE_CONNECTION_CODES.has(error.code ?? "")) {
            return start(true);
          }
          finish({
            kind: "error",
            error: error instanceof PolicyRefusal ? error.message : `request failed: ${error.message}`,
          });
        });
        req.on("response", (res) => {
          answered = true;
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (chunk: Buffer) => {
            if (size < this.options.maxResponseBodyBytes) chunks.push(chunk);
            size += chunk.length;
          });
          res.on("error", (error) => finish({ kind: "error", error: `response failed: ${error.message}` }));
          res.on("end", () => {
            const header: HeaderMap = {};
            // Name/value pairs as received (addHeader canonicalizes names and groups repeated ones), less the
            // hop-by-hop ones, which describe Herald's connection, not the response (RFC 9110 §7.6.1).
            const raw = res.rawHeaders;
            for (let i = 0; i + 1 < raw.length; i += 2) {
              const name = raw[i] as string;
              if (!HOP_BY_HOP.has(name.toLowerCase())) addHeader(header, name, raw[i + 1] as string);
            }
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
      };
      start(false);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
