import http from "node:http";
import type { AddressInfo } from "node:net";
import { NodeHttpSender } from "../adapters/http/http-sender.ts";
import { SqliteKeys, type SqliteKeysOptions } from "../adapters/embedded/sqlite-keys.ts";
import { startCheckpointer } from "../adapters/embedded/checkpointer.ts";
import { lockDataDir } from "../adapters/embedded/data-dir-lock.ts";
import { closeDatabase, openDatabase } from "../adapters/embedded/sqlite-schema.ts";
import { writeGroup, type WriteGroup } from "../adapters/embedded/write-group.ts";
import { SqliteJobQueue } from "../adapters/embedded/sqlite-job-queue.ts";
import { SqliteStore } from "../adapters/embedded/sqlite-store.ts";
import { TimerCronTrigger } from "../adapters/embedded/timer-cron-trigger.ts";
import { fireSchedule } from "../core/schedules.ts";
import { loadOnce, type ConsoleAssetSource } from "../console/console-assets.ts";
import { bodyTooLarge, handleApiRequest, maxRequestBytes } from "../api/router.ts";
import { listen, SERVER_OPTIONS } from "./listen.ts";
import { DEFAULT_CONFIG, type HeraldConfig } from "../core/config.ts";
import { ANY_DESTINATION } from "../core/destination-policy.ts";
import type { HeraldContext } from "../core/context.ts";
import { deliverMessage } from "../core/deliver.ts";
import { sweep, SWEEP_INTERVAL_MS } from "../core/sweep.ts";
import { readBody } from "./read-body.ts";
import { readHeaders } from "./read-headers.ts";
import type { Clock, HttpSender } from "../ports.ts";
import type { ApiRequest, ApiResponse } from "../api/http.ts";

export interface LocalServerOptions {
  port?: number;
  host?: string;
  dataDir: string;
  /** `destinations` defaults to ANY_DESTINATION: local mode delivers to loopback and private addresses. */
  config?: Partial<HeraldConfig>;
  keys?: SqliteKeysOptions;
  clock?: Clock;
  /** Fire schedules from timers (default); false leaves it to `cron.tick(now)` (tests with a fake clock). */
  cronTimers?: boolean;
  /** The web console's files (bin/herald-local.ts builds them from console/); without it /console is a 404. */
  consoleAssets?: ConsoleAssetSource;
}

/** A running Herald, local or emulated AWS. */
export interface RunningHerald {
  url: string;
  port: number;
  token: string;
  /** The read-only token: reads only, 403 on anything that changes state. */
  readOnlyToken: string;
  /** Fires the schedules due at `now` as the platform's trigger would (tests use it instead of waiting). */
  runDueSchedules(now: number): Promise<void>;
  close(): Promise<void>;
}

export interface LocalServer extends RunningHerald {
  context: HeraldContext;
  cron: TimerCronTrigger;
}

const systemClock: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };
const PURGE_INTERVAL_MS = 3_600_000;

/** Starts the local Herald: the shared API routes over node:http plus in-process delivery workers. */
export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  const config: HeraldConfig = { ...DEFAULT_CONFIG, destinations: ANY_DESTINATION, ...options.config };
  const clock = options.clock ?? systemClock;
  const unlock = lockDataDir(options.dataDir);
  const db = openDatabase(options.dataDir);
  const checkpointer = startCheckpointer(db, options.dataDir);
  const store = new SqliteStore(db);
  const queue = new SqliteJobQueue(db, clock, { maxInFlight: config.maxConcurrentDeliveries });
  const keys = new SqliteKeys(db, options.keys);
  const sender = new NodeHttpSender({
    destinations: config.destinations,
    maxResponseBodyBytes: config.maxResponseBodyBytes,
  });
  // Writes are group-committed (see WriteGroup): nothing leaves the process — a delivery attempt here, a
  // response in `serve` — before every write made before it is committed. The wait is at most the rest of
  // the current turn of the event loop; it rejects only if the database could not commit.
  const group = writeGroup(db);
  const durableSender: HttpSender = {
    async send(request) {
      await group.durable();
      return sender.send(request);
    },
  };
  const cron = new TimerCronTrigger(clock);
  const context: HeraldContext = { store, dispatcher: queue, keys, sender: durableSender, clock, cron, config };
  if (options.consoleAssets) context.consoleAssets = loadOnce(options.consoleAssets);

  const server = http.createServer(SERVER_OPTIONS, (req, res) => {
    void serve(context, group, req, res);
  });
  server.keepAliveTimeout = 65_000;
  await listen(server, options.port ?? 8080, options.host ?? "127.0.0.1", (_status, message) => ({ error: message }));

  const purge = (): void => {
    try {
      store.purge(clock.now() - config.retentionMs);
    } catch (error) {
      console.error("purge failed; it runs again within the hour", error);
    }
  };
  purge();
  const purgeTimer = setInterval(purge, PURGE_INTERVAL_MS);
  purgeTimer.unref();
  // The periodic sweep (core/sweep.ts): here SQLite commits a turn and its job together, so it mostly
  // finds nothing; it heals flow-control waits whose waking event a crash took away. One at a time.
  let sweeping: Promise<unknown> = Promise.resolve();
  let sweepRunning = false;
  const sweepTimer = setInterval(() => {
    if (sweepRunning) return;
    sweepRunning = true;
    sweeping = sweep(context)
      .catch((error: unknown) => console.error("sweep failed", error))
      .finally(() => (sweepRunning = false));
  }, SWEEP_INTERVAL_MS);
  sweepTimer.unref();
  queue.start((job) => deliverMessage(context, job));
  await cron.start(store, (scheduleId, firedAt) => fireSchedule(context, scheduleId, firedAt), {
    timers: options.cronTimers ?? true,
  });

  const port = (server.address() as AddressInfo).port;
  const host = options.host && options.host !== "0.0.0.0" && options.host !== "::" ? options.host : "127.0.0.1";
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    token: keys.apiToken,
    readOnlyToken: keys.readOnlyToken,
    context,
    cron,
    runDueSchedules: (now) => cron.tick(now),
    async close() {
      clearInterval(purgeTimer);
      clearInterval(sweepTimer);
      cron.stop();
      await sweeping;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await queue.stop();
      sender.close();
      await checkpointer.stop();
      closeDatabase(db);
      unlock();
    },
  };
}

async function serve(
  ctx: HeraldContext,
  group: WriteGroup,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const raw = req.url ?? "/";
  const q = raw.indexOf("?");
  const request: ApiRequest = {
    method: req.method ?? "GET",
    path: q < 0 ? raw : raw.slice(0, q),
    rawQuery: q < 0 ? "" : raw.slice(q + 1),
    headers: readHeaders(req.rawHeaders),
    body: new Uint8Array(0),
  };
  const ip = req.socket.remoteAddress;
  if (ip) request.sourceIp = ip.startsWith("::ffff:") ? ip.slice(7) : ip;

  // Size limits answer before the body is read or anything else is done: the message body limit, more
  // for a batch (router.ts checks again, for both platforms).
  const limit = maxRequestBytes(ctx.config, request.method, request.path);
  const read = await readBody(req, limit);
  if (read.kind === "gone") return void res.destroy();
  // Over the drain's cap: answered and closed at once; otherwise ended once the body is drained.
  if (read.kind === "tooLarge") return send(res, bodyTooLarge(limit), read.close, read.close ? undefined : req);
  const body = read.body;
  request.body = new Uint8Array(body.buffer, body.byteOffset, body.length);
  const rollbacks = group.rollbacks; // nothing touched the database before this
  let response = await handleApiRequest(ctx, request, (message, error) => console.error(message, error));
  try {
    await group.durable(); // what the response reports (or was read) is committed before it is sent
    // A group lost meanwhile (its commit failed) may have held this request's writes, or writes it read.
    if (group.rollbacks !== rollbacks) throw new Error("rolled back");
  } catch {
    response = { status: 500, body: { error: "internal error" } };
  }
  try {
    send(res, response);
  } catch (error) {
    console.error("could not send the response", error);
    if (!res.headersSent) send(res, { status: 500, body: { error: "internal error" } });
    else res.destroy();
  }
}

/** How long an early answer's connection stays open for the rest of its body (Apache lingers 30 s). */
const LINGER_MS = 30_000;

/**
 * Ends an early answer (413) written while its body is still arriving, but only once readBody has drained
 * the body (or closed the connection at its cap), or after LINGER_MS: ending it lets Node close a
 * connection the request asked to close, and closing while body bytes still arrive makes the TCP stack
 * answer them with a reset, which can erase the answer before the client reads it (RFC 9112 §9.6,
 * "Tear-down": close in stages). Before this, 2 to 47 of 150 early 413s to `Connection: close` requests
 * of 1 MiB came back empty.
 */
function endOnceDrained(req: http.IncomingMessage, res: http.ServerResponse): void {
  const end = (): void => {
    clearTimeout(linger);
    if (!res.writableEnded) res.end();
  };
  const linger = setTimeout(end, LINGER_MS);
  linger.unref();
  if (req.readableEnded) return end();
  req.once("end", end);
  req.once("close", end);
}

/** Sends `response`; with `drained`, the answer goes out now and the response ends once its body is drained. */
function send(
  res: http.ServerResponse,
  response: ApiResponse,
  closeConnection = false,
  drained?: http.IncomingMessage,
): void {
  if (response.raw) {
    const { headers, body } = response.raw;
    res.writeHead(response.status, { ...headers, "Content-Length": body.byteLength });
    res.end(body);
    return;
  }
  const payload = response.body === undefined ? "" : JSON.stringify(response.body);
  res.writeHead(response.status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(payload),
    ...(closeConnection ? { Connection: "close" } : {}),
  });
  if (!drained) return void res.end(payload);
  res.write(payload);
  endOnceDrained(drained, res);
}
