// Messages that travel inside their first delivery job (the opt-in lean mode, with a dispatcher that
// carries messages, as on AWS): no record until something needs one, and a log that still shows them.
import { afterAll, beforeAll, expect, it } from "vitest";
import { NodeHttpSender } from "../../lambdas/adapters/http/http-sender.ts";
import { deliverMessage } from "../../lambdas/core/deliver.ts";
import { ANY_DESTINATION } from "../../lambdas/core/destination-policy.ts";
import { findMessage } from "../../lambdas/core/find-message.ts";
import { newMessageId } from "../../lambdas/core/ids.ts";
import { publish, type PublishResult } from "../../lambdas/core/publish.ts";
import type { DeliveryJob, LoggedEvent } from "../../lambdas/ports.ts";
import { localContext } from "../support/local.ts";
import { Sink } from "../support/sink.ts";

const jobs: DeliveryJob[] = [];
const base = localContext((queue) => ({
  carriesMessages: true,
  dispatch: async (job, dueAt) => {
    jobs.push(job);
    await queue.dispatch(job, dueAt);
  },
}));
// The sink listens on loopback.
const sender = new NodeHttpSender({ destinations: ANY_DESTINATION, maxResponseBodyBytes: 1024 });
const ctx = {
  ...base,
  sender,
  config: { ...base.config, destinations: ANY_DESTINATION, messageRecords: "lean" as const },
};
let sink: Sink;
beforeAll(async () => {
  sink = await Sink.start();
});
afterAll(async () => {
  sender.close();
  await sink.close();
});

async function publishTo(path: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await publish(ctx, {
    destination: `${sink.url}${path}`,
    rawQuery: "",
    headers,
    body: new TextEncoder().encode(`{"path":"${path}"}`),
  });
  return (response.body as PublishResult).messageId;
}

const jobOf = (messageId: string): DeliveryJob => jobs.filter((j) => j.messageId === messageId).at(-1) as DeliveryJob;

async function logOf(messageId: string): Promise<LoggedEvent[]> {
  const out: LoggedEvent[] = [];
  for await (const { item } of ctx.store.scanEvents({ order: "earliestFirst", messageIds: [messageId] }))
    out.push(item);
  return out;
}

it("stores nothing for an immediate message: its job carries it, and its log shows it once delivered", async () => {
  const id = await publishTo("/plain");
  expect(await ctx.store.getMessage(id)).toBeUndefined();
  expect(jobOf(id).message?.url).toBe(`${sink.url}/plain`);

  expect(await deliverMessage(ctx, jobOf(id))).toBe("delivered");
  expect((await sink.waitFor("/plain"))[0]?.headers["upstash-message-id"]).toBe(id);
  const log = await logOf(id);
  expect(log.map((e) => e.event.state)).toEqual(["CREATED", "ACTIVE", "DELIVERED"]);
  expect(log.every((e) => e.message?.url === `${sink.url}/plain`)).toBe(true);
  expect(await findMessage(ctx, id)).toBeUndefined(); // delivered: gone, as on QStash
});

it("keeps only a redacted copy of a carried message in its log", async () => {
  const id = await publishTo("/private", { "upstash-redact-fields": "body" });
  expect(jobOf(id).message?.redact).toEqual({ body: true }); // the job carries the original
  expect(await deliverMessage(ctx, jobOf(id))).toBe("delivered");
  expect((await sink.waitFor("/private"))[0]?.body.toString()).toBe('{"path":"/private"}');
  for (const { message } of await logOf(id)) {
    expect(new TextDecoder().decode(message?.body)).toMatch(/^REDACTED:[0-9a-f]{64}$/);
    expect(message?.redact).toBeUndefined();
  }
});

it("stores every message in the default (full) mode, though the dispatcher could carry it", async () => {
  const full = { ...ctx, config: { ...ctx.config, messageRecords: "full" as const } };
  const response = await publish(full, {
    destination: `${sink.url}/full`,
    rawQuery: "",
    headers: {},
    body: new TextEncoder().encode("full"),
  });
  const id = (response.body as PublishResult).messageId;
  expect((await full.store.getMessage(id))?.status).toEqual({ state: "CREATED", retried: 0 });
  expect(jobOf(id)).toEqual({ messageId: id, retried: 0 });
  expect((await findMessage(full, id))?.url).toBe(`${sink.url}/full`);
});

it("stores the messages something looks up: delayed, deduplicated", async () => {
  const delayed = await publishTo("/later", { "upstash-delay": "60s" });
  const deduplicated = await publishTo("/once", { "upstash-deduplication-id": "carried-dedup" });
  for (const id of [delayed, deduplicated]) {
    expect((await ctx.store.getMessage(id))?.status).toEqual({ state: "CREATED", retried: 0 });
    expect(jobOf(id).message).toBeUndefined();
  }
});

it("stores a carried message when its first attempt fails, before dispatching the retry by id", async () => {
  sink.reply = (request) => (request.path === "/flaky" ? { status: 503 } : { status: 200, body: "ok" });
  const id = await publishTo("/flaky", { "upstash-retries": "2" });
  const first = jobOf(id);
  expect(await deliverMessage(ctx, first)).toBe("retry");
  expect((await ctx.store.getMessage(id))?.status).toEqual({ state: "RETRY", retried: 1 });
  expect(jobOf(id)).toEqual({ messageId: id, retried: 1 });
  expect((await logOf(id)).map((e) => e.event.state)).toEqual(["CREATED", "ACTIVE", "ERROR", "RETRY"]);

  // The carried job comes again (the worker died before SQS deleted it): one record, the retry dispatched again.
  const dispatched = jobs.length;
  expect(await deliverMessage(ctx, first)).toBe("retry");
  expect(jobs.slice(dispatched)).toEqual([{ messageId: id, retried: 1 }]);
  expect((await ctx.store.getMessage(id))?.status).toEqual({ state: "RETRY", retried: 1 });

  sink.reply = () => ({ status: 200, body: "ok" });
  expect(await deliverMessage(ctx, { messageId: id, retried: 1 })).toBe("delivered");
  expect((await ctx.store.getMessage(id))?.status).toEqual({ state: "DELIVERED", retried: 1 });
});

it("puts a carried message that fails for good into the DLQ, with its log", async () => {
  sink.reply = (request) => (request.path === "/down" ? { status: 500 } : { status: 200, body: "ok" });
  const id = await publishTo("/down", { "upstash-retries": "0" });
  expect(await deliverMessage(ctx, jobOf(id))).toBe("failed");
  expect((await logOf(id)).map((e) => e.event.state)).toEqual(["CREATED", "ACTIVE", "ERROR", "FAILED"]);
  const entries = [];
  for await (const { item } of ctx.store.scanDlq({ order: "latestFirst" })) entries.push(item);
  expect(entries.find((e) => e.message.messageId === id)?.message.url).toBe(`${sink.url}/down`);
});

it("does not find an id that was never published", async () => {
  expect(await findMessage(ctx, newMessageId(Date.now()))).toBeUndefined();
});
