import { beforeAll, describe, expect, it } from "vitest";
import type { SinkReply } from "../support/sink.ts";
import { describeEachMode, eventually, holdAnswers, readMessage, useHeraldWithSink } from "../support/herald.ts";

describeEachMode("retries and DLQ", (mode) => {
  const setup = useHeraldWithSink({ mode });
  beforeAll(() => {
    setup.sink.reply = (request, count): SinkReply => {
      if (request.path.startsWith("/flaky")) return count <= 2 ? { status: 503 } : { status: 200, body: "third time" };
      if (request.path.startsWith("/down")) return { status: 500, headers: { "X-Why": "broken" }, body: "nope" };
      if (request.path.startsWith("/fatal")) {
        return { status: 489, headers: { "Upstash-NonRetryable-Error": "true" }, body: "do not retry" };
      }
      if (request.path.startsWith("/redirect")) return { status: 302, headers: { Location: "/elsewhere" } };
      if (request.path.startsWith("/slow-down"))
        return count === 1 ? { status: 429, headers: { "Retry-After": "1" } } : { status: 200 };
      return { status: 200, body: "ok" };
    };
  });

  /** The DLQ entry of a message, once it is there. */
  const dlqEntryOf = (messageId: string) =>
    eventually(async () => (await setup.herald.client.dlq.listMessages({ filter: { messageId } })).messages[0]);

  const json = (buf: Buffer | undefined): Record<string, unknown> => JSON.parse(buf?.toString() ?? "{}");

  describe("retries", () => {
    it("delivers on the third attempt with Upstash-Retried 0, 1, 2 and one callback per attempt", async () => {
      const res = await setup.herald.client.publish({
        url: `${setup.sink.url}/flaky`,
        body: "retry me",
        retries: 3,
        retryDelay: "100",
        callback: `${setup.sink.url}/callback-of-flaky`,
      });
      const attempts = await setup.sink.waitFor("/flaky", 3);
      expect(attempts.map((a) => a.headers["upstash-retried"])).toEqual(["0", "1", "2"]);
      expect(new Set(attempts.map((a) => a.headers["upstash-message-id"]))).toEqual(new Set([res.messageId]));
      for (const a of attempts) {
        await expect(
          setup.herald.receiver.verify({
            signature: a.headers["upstash-signature"] as string,
            body: "retry me",
            url: `${setup.sink.url}/flaky`,
          }),
        ).resolves.toBe(true);
      }

      const callbacks = await setup.sink.waitFor("/callback-of-flaky", 3);
      const payloads = callbacks.map((c) => json(c.body)).sort((a, b) => Number(a.retried) - Number(b.retried));
      expect(payloads.map((p) => [p.status, p.retried])).toEqual([
        [503, 0],
        [503, 1],
        [200, 2],
      ]);
      expect(payloads[2]).toMatchObject({
        sourceMessageId: res.messageId,
        url: `${setup.sink.url}/flaky`,
        method: "POST",
        maxRetries: 3,
        body: Buffer.from("third time").toString("base64"),
        sourceBody: Buffer.from("retry me").toString("base64"),
      });
      // Callbacks are signed for their own URL.
      const cb = callbacks[0];
      await expect(
        setup.herald.receiver.verify({
          signature: cb?.headers["upstash-signature"] as string,
          body: cb?.body.toString() ?? "",
          url: `${setup.sink.url}/callback-of-flaky`,
        }),
      ).resolves.toBe(true);

      await sleepUntilDelivered(res.messageId);
      await expect(setup.sink.waitFor("/flaky", 4, 300)).rejects.toThrow(); // no fourth attempt
    });

    it("waits as long as the destination's Retry-After says", async () => {
      await setup.herald.client.publish({ url: `${setup.sink.url}/slow-down`, body: "x", retryDelay: "10" });
      const [first, second] = await setup.sink.waitFor("/slow-down", 2, 5000);
      expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(950);
    });

    it("does not follow redirects: a 3xx is a failed attempt", async () => {
      const res = await setup.herald.client.publish({ url: `${setup.sink.url}/redirect`, body: "x", retries: 0 });
      const entry = await dlqEntryOf(res.messageId);
      expect(entry.responseStatus).toBe(302);
      expect(setup.sink.at("/elsewhere")).toHaveLength(0);
    });
  });

  async function sleepUntilDelivered(messageId: string): Promise<void> {
    await eventually(async () => {
      const { logs } = await setup.herald.client.logs({ filter: { messageId, state: "DELIVERED" } });
      return logs.length > 0 ? true : undefined;
    });
  }

  describe("dead-letter queue", () => {
    it("moves a message to the DLQ after its retries with the last response, and fires the failure callback", async () => {
      const res = await setup.herald.client.publish({
        url: `${setup.sink.url}/down`,
        body: "doomed",
        retries: 2,
        retryDelay: "50",
        label: "dlq-test",
        failureCallback: `${setup.sink.url}/down-failure`,
        headers: { "Upstash-Failure-Callback-Forward-X-Secret": "s3" },
      });
      expect(await setup.sink.waitFor("/down", 3)).toHaveLength(3);
      const [failure] = await setup.sink.waitFor("/down-failure");
      expect(failure?.headers["x-secret"]).toBe("s3");
      const payload = json(failure?.body);

      const { messages } = await setup.herald.client.dlq.listMessages({ filter: { messageId: res.messageId } });
      expect(messages).toHaveLength(1);
      const entry = messages[0];
      expect(entry).toMatchObject({
        messageId: res.messageId,
        url: `${setup.sink.url}/down`,
        responseStatus: 500,
        responseBody: "nope",
        labels: ["dlq-test"],
      });
      expect(entry?.responseHeader?.["X-Why"]).toEqual(["broken"]);
      expect(payload).toMatchObject({
        status: 500,
        retried: 2,
        maxRetries: 2,
        dlqId: entry?.dlqId,
        sourceMessageId: res.messageId,
        body: Buffer.from("nope").toString("base64"),
      });
      expect(setup.sink.at("/down")).toHaveLength(3); // exactly 1 + retries attempts

      const single = await setup.herald.api(`/v2/dlq/${entry?.dlqId}`);
      expect(single.status).toBe(200);
      expect(await single.json()).toMatchObject({ dlqId: entry?.dlqId, responseStatus: 500 });

      await setup.herald.client.dlq.delete(entry?.dlqId as string);
      await expect(setup.herald.client.dlq.delete(entry?.dlqId as string)).rejects.toThrow(/not found/);
      expect((await setup.herald.api(`/v2/dlq/${entry?.dlqId}`)).status).toBe(404);
    });

    it("fails immediately on 489 with Upstash-NonRetryable-Error", async () => {
      const res = await setup.herald.client.publish({
        url: `${setup.sink.url}/fatal`,
        body: "x",
        retries: 5,
        retryDelay: "50",
      });
      const entry = await dlqEntryOf(res.messageId);
      expect(entry.responseStatus).toBe(489);
      expect(setup.sink.at("/fatal")).toHaveLength(1);
    });

    it("retries a DLQ entry as a new message, with overrides from the retry request", async () => {
      const res = await setup.herald.client.publish({ url: `${setup.sink.url}/down-retry`, body: "again", retries: 0 });
      setup.sink.reply = ((previous) => (request, count) =>
        request.path === "/down-retry" && count === 1 ? { status: 500 } : previous(request, count))(setup.sink.reply);
      const entry = await dlqEntryOf(res.messageId);
      const release = holdAnswers(setup.sink, "/down-retry", 2000); // the retry stays pending while read

      const retried = await setup.herald.api(`/v2/dlq/retry/${entry.dlqId}`, {
        method: "POST",
        headers: { "Upstash-Retries": "1" },
      });
      expect(retried.status).toBe(201);
      const { messageId } = (await retried.json()) as { messageId: string };
      expect(messageId).not.toBe(res.messageId);
      // Read while the retried message is pending (a delivered message answers 404, as on QStash).
      expect((await readMessage(setup.herald, messageId)).maxRetries).toBe(1);
      const attempts = await setup.sink.waitFor("/down-retry", 2);
      expect(attempts[1]?.headers["upstash-message-id"]).toBe(messageId);
      expect(attempts[1]?.body.toString()).toBe("again");
      release();
      await expect(setup.herald.client.dlq.delete(entry.dlqId)).rejects.toThrow(); // gone from the DLQ
    });

    it("lists with filters and cursors, and bulk retries and deletes", async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push(
          (
            await setup.herald.client.publish({
              url: `${setup.sink.url}/down-bulk-${i % 2}`,
              body: `${i}`,
              retries: 0,
              label: "bulk",
            })
          ).messageId,
        );
      }
      await eventually(async () => {
        const { messages } = await setup.herald.client.dlq.listMessages({ filter: { label: "bulk" } });
        return messages.length === 5 ? true : undefined;
      });

      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await setup.herald.client.dlq.listMessages({ filter: { label: "bulk" }, count: 2, cursor });
        seen.push(...page.messages.map((m) => m.messageId));
        cursor = page.cursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen.sort()).toEqual([...ids].sort());

      const byUrl = await setup.herald.client.dlq.listMessages({ filter: { url: `${setup.sink.url}/down-bulk-1` } });
      expect(byUrl.messages).toHaveLength(2);

      const retried = await setup.herald.client.dlq.retry({ filter: { url: `${setup.sink.url}/down-bulk-1` } });
      expect(retried.responses).toHaveLength(2);
      expect(retried.cursor).toBeUndefined();

      const deleted = await setup.herald.client.dlq.delete({ filter: { label: "bulk" } });
      expect(deleted.deleted).toBeGreaterThanOrEqual(3);
      expect(deleted.cursor).toBeUndefined();

      // A typo in a filter never deletes everything.
      const typo = await setup.herald.api("/v2/dlq?labeel=bulk", { method: "DELETE" });
      expect(typo.status).toBe(400);
      expect(await typo.json()).toEqual({ error: 'unknown filter "labeel"' });
    });
  });
});
