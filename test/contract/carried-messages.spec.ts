// Messages that travel inside their first delivery job (the opt-in lean mode, with a dispatcher that
// carries messages, as on AWS), against each Store: no record until something needs one, and a log that
// still shows them. Run by test/contract/{sqlite,aws}.contract.test.ts.
import { describe, expect, it } from "vitest";
import { cancelMessages } from "../../lambdas/core/cancel.ts";
import { ANY_DESTINATION } from "../../lambdas/core/destination-policy.ts";
import { findMessage } from "../../lambdas/core/find-message.ts";
import { newMessageId } from "../../lambdas/core/ids.ts";
import { publish, type PublishResult } from "../../lambdas/core/publish.ts";
import type { DeliveryJob } from "../../lambdas/ports.ts";
import {
  answer,
  headerOf,
  logOf,
  publishTo,
  RECEIVER,
  withHarness,
  type CoreHarness,
  type OpenCoreFixture,
} from "../support/core-harness.ts";

/** `POST /v2/publish/<destination>` with a small JSON body. */
const publishJson = (h: CoreHarness, path: string, headers: Record<string, string> = {}) =>
  publishTo(h, path, { headers, body: `{"path":"${path}"}` });

const jobOf = (h: CoreHarness, messageId: string): DeliveryJob =>
  h.jobs.filter((j) => j.messageId === messageId).at(-1) as DeliveryJob;

const requestTo = (h: CoreHarness, path: string) => h.requests.find((r) => new URL(r.url).pathname === path);

export function carriedMessagesContract(name: string, open: OpenCoreFixture): void {
  const test = (body: (h: CoreHarness) => Promise<void>) =>
    withHarness(
      open,
      { carriesMessages: true, config: { destinations: ANY_DESTINATION, messageRecords: "lean" } },
      body,
    );

  describe(`Carried messages: ${name}`, () => {
    it(
      "stores nothing for an immediate message: its job carries it, and its log shows it once delivered",
      test(async (h) => {
        const { ctx } = h;
        const id = await publishJson(h, "/plain");
        expect(await ctx.store.getMessage(id)).toBeUndefined();
        expect(jobOf(h, id).message?.url).toBe(`${RECEIVER}/plain`);

        expect(await h.deliver(jobOf(h, id))).toBe("delivered");
        expect(headerOf(requestTo(h, "/plain"), "upstash-message-id")).toBe(id);
        const log = await logOf(h, id);
        expect(log.map((e) => e.event.state)).toEqual(["CREATED", "ACTIVE", "DELIVERED"]);
        expect(log.every((e) => e.message?.url === `${RECEIVER}/plain`)).toBe(true);
        expect(await findMessage(ctx, id)).toBeUndefined(); // delivered: gone, as on QStash
      }),
    );

    it(
      "does not attempt a carried job given again after its message ended, nor send its callbacks again",
      test(async (h) => {
        await publishJson(h, "/once", { "upstash-callback": `${RECEIVER}/once-cb` });
        const job = h.jobs.shift() as DeliveryJob;
        expect(await h.deliver(job)).toBe("delivered");
        await h.drain(); // the callback
        h.failsOnce("/down");
        const failed = await publishJson(h, "/down", {
          "upstash-retries": "0",
          "upstash-failure-callback": `${RECEIVER}/down-fcb`,
        });
        const failedJob = h.jobs.shift() as DeliveryJob;
        expect(await h.deliver(failedJob)).toBe("failed");
        await h.drain();
        await h.ctx.store.flushEvents?.();
        // SQS gives both jobs again (ApproximateReceiveCount over 1): the log says they ended.
        expect(await h.deliver({ ...job, redelivered: true })).toBe("skipped");
        expect(await h.deliver({ ...failedJob, redelivered: true })).toBe("skipped");
        await h.drain();
        expect(h.delivered.toSorted()).toEqual(["/down", "/down-fcb", "/once", "/once-cb"]);
        expect((await logOf(h, failed)).map((e) => e.event.state)).toEqual(["CREATED", "ACTIVE", "ERROR", "FAILED"]);
      }),
    );

    it(
      "stores a workflow's trigger (not carried), so a second trigger of its run delivers nothing again",
      test(async (h) => {
        const headers = {
          "upstash-workflow-runid": "wfr_lean-trigger",
          "upstash-workflow-init": "true",
          "upstash-workflow-url": `${RECEIVER}/wf`,
        };
        const id = await publishTo(h, "/wf", { headers, body: "{}" });
        expect(jobOf(h, id).message).toBeUndefined();
        expect(await h.ctx.store.getMessage(id)).toBeDefined();
        await h.drain();
        const again = await h.invoke(() =>
          publish(h.ctx, {
            destination: `${RECEIVER}/wf`,
            rawQuery: "",
            headers,
            body: new TextEncoder().encode("{}"),
          }),
        );
        expect(again).toMatchObject({ status: 202, body: { messageId: id, deduplicated: true } });
        await h.drain();
        expect(h.delivered).toEqual(["/wf"]);
      }),
    );

    it(
      "keeps only a redacted copy of a carried message in its log",
      test(async (h) => {
        const id = await publishJson(h, "/private", { "upstash-redact-fields": "body" });
        expect(jobOf(h, id).message?.redact).toEqual({ body: true }); // the job carries the original
        expect(await h.deliver(jobOf(h, id))).toBe("delivered");
        expect(new TextDecoder().decode(requestTo(h, "/private")?.body)).toBe('{"path":"/private"}');
        for (const { message } of await logOf(h, id)) {
          expect(new TextDecoder().decode(message?.body)).toMatch(/^REDACTED:[0-9a-f]{64}$/);
          expect(message?.redact).toBeUndefined();
        }
      }),
    );

    it(
      "stores every message in the default (full) mode, though the dispatcher could carry it",
      test(async (h) => {
        const full = { ...h.ctx, config: { ...h.ctx.config, messageRecords: "full" as const } };
        const response = await h.invoke(() =>
          publish(full, {
            destination: `${RECEIVER}/full`,
            rawQuery: "",
            headers: {},
            body: new TextEncoder().encode("full"),
          }),
        );
        const id = (response.body as PublishResult).messageId;
        expect((await full.store.getMessage(id))?.status).toMatchObject({ state: "CREATED", retried: 0 });
        expect(jobOf(h, id)).toEqual({ messageId: id, retried: 0 });
        expect((await findMessage(full, id))?.url).toBe(`${RECEIVER}/full`);
      }),
    );

    it(
      "stores the messages something looks up: delayed, deduplicated",
      test(async (h) => {
        const delayed = await publishJson(h, "/later", { "upstash-delay": "60s" });
        const deduplicated = await publishJson(h, "/once", { "upstash-deduplication-id": "carried-dedup" });
        for (const id of [delayed, deduplicated]) {
          expect((await h.ctx.store.getMessage(id))?.status).toEqual({ state: "CREATED", retried: 0 });
          expect(jobOf(h, id).message).toBeUndefined();
        }
      }),
    );

    it(
      "stores a carried message when its first attempt fails, before dispatching the retry by id",
      test(async (h) => {
        const { ctx } = h;
        h.respondWith((request) => (new URL(request.url).pathname === "/flaky" ? answer(503) : answer(200, "ok")));
        const id = await publishJson(h, "/flaky", { "upstash-retries": "2" });
        const first = jobOf(h, id);
        expect(await h.deliver(first)).toBe("retry");
        expect((await ctx.store.getMessage(id))?.status).toEqual({ state: "RETRY", retried: 1 });
        expect(jobOf(h, id)).toEqual({ messageId: id, retried: 1 });
        expect((await logOf(h, id)).map((e) => e.event.state)).toEqual(["CREATED", "ACTIVE", "ERROR", "RETRY"]);

        // The carried job comes again (the worker died before SQS deleted it): one record, the retry dispatched again.
        const dispatched = h.jobs.length;
        expect(await h.deliver(first)).toBe("retry");
        expect(h.jobs.slice(dispatched)).toEqual([{ messageId: id, retried: 1 }]);
        expect((await ctx.store.getMessage(id))?.status).toEqual({ state: "RETRY", retried: 1 });

        h.respondWith(() => answer(200, "ok"));
        expect(await h.deliver({ messageId: id, retried: 1 })).toBe("delivered");
        expect((await ctx.store.getMessage(id))?.status).toEqual({ state: "DELIVERED", retried: 1 });
      }),
    );

    it(
      "puts a carried message that fails for good into the DLQ, with its log",
      test(async (h) => {
        h.respondWith((request) => (new URL(request.url).pathname === "/down" ? answer(500) : answer(200, "ok")));
        const id = await publishJson(h, "/down", { "upstash-retries": "0" });
        expect(await h.deliver(jobOf(h, id))).toBe("failed");
        expect((await logOf(h, id)).map((e) => e.event.state)).toEqual(["CREATED", "ACTIVE", "ERROR", "FAILED"]);
        const entries = [];
        for await (const { item } of h.ctx.store.scanDlq({ order: "latestFirst" })) entries.push(item);
        expect(entries.find((e) => e.message.messageId === id)?.message.url).toBe(`${RECEIVER}/down`);
      }),
    );

    it(
      "does not find an id that was never published",
      test(async (h) => {
        expect(await findMessage(h.ctx, newMessageId(h.clock.now()))).toBeUndefined();
      }),
    );

    it(
      "cancels a carried message before its attempt when a bulk cancel matches it, and logs the cancel",
      test(async (h) => {
        const dropped = await publishJson(h, "/dropped");
        const kept = await publishJson(h, "/kept");
        await cancelMessages(h.ctx, { filter: { url: [`${RECEIVER}/dropped`] } });
        expect(await h.deliver(jobOf(h, dropped))).toBe("canceled");
        expect(await h.deliver(jobOf(h, kept))).toBe("delivered");
        expect(h.delivered).toEqual(["/kept"]);
        await h.ctx.store.flushEvents?.();
        const log = await logOf(h, dropped);
        expect(log.map((e) => e.event.state)).toEqual(["CREATED", "CANCEL_REQUESTED", "CANCELED"]);
        expect(log.every((e) => e.message?.url === `${RECEIVER}/dropped`)).toBe(true);
        // Given again, its job finds it ended.
        expect(await h.deliver({ ...jobOf(h, dropped), redelivered: true })).toBe("skipped");
        expect(h.delivered).toEqual(["/kept"]);
      }),
    );
  });
}
