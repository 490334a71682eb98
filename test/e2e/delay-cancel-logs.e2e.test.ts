import { describe, expect, it } from "vitest";
import type { AwsLocalHerald } from "../../emulation/emulated-aws-server.ts";
import { describeEachMode, eventually, useHeraldWithSink } from "../support/herald.ts";

describeEachMode("delays, cancel and logs", (mode) => {
  const setup = useHeraldWithSink({ mode });

  describe("delays", () => {
    it("delivers a 2 s delay neither early nor more than a second late", async () => {
      const sentAt = Date.now();
      await setup.herald.client.publish({ url: `${setup.sink.url}/delayed`, body: "later", delay: 2 });
      const [got] = await setup.sink.waitFor("/delayed", 1, 5000);
      const waited = (got?.at ?? 0) - sentAt;
      expect(waited).toBeGreaterThanOrEqual(2000);
      expect(waited).toBeLessThan(3000);
    });

    it("honours Upstash-Not-Before over Upstash-Delay", async () => {
      const notBefore = Math.ceil(Date.now() / 1000) + 1;
      await setup.herald.client.publish({ url: `${setup.sink.url}/not-before`, body: "x", notBefore, delay: 3600 });
      const [got] = await setup.sink.waitFor("/not-before", 1, 4000);
      expect(got?.at).toBeGreaterThanOrEqual(notBefore * 1000);
    });
  });

  describe("cancel", () => {
    it("never delivers a message cancelled before it was due, and logs the cancel", async () => {
      const res = await setup.herald.client.publish({ url: `${setup.sink.url}/cancelled`, body: "x", delay: 1 });
      expect(await setup.herald.client.messages.cancel(res.messageId)).toEqual({ cancelled: 1 });
      await expect(setup.herald.client.messages.cancel(res.messageId)).rejects.toThrow(
        /not found or no longer pending/,
      );
      // Published after it with the same delay and delivered: the cancelled one was due before.
      await setup.herald.client.publish({ url: `${setup.sink.url}/cancelled-witness`, body: "w", delay: 1 });
      await setup.sink.waitFor("/cancelled-witness", 1, 10_000);
      expect(setup.sink.at("/cancelled")).toHaveLength(0);
      const states = await eventually(async () => {
        const { logs } = await setup.herald.client.logs({ filter: { messageId: res.messageId } });
        return logs.some((l) => l.state === "CANCELED") ? logs.map((l) => l.state) : undefined;
      });
      expect(states).toEqual(["CANCELED", "CANCEL_REQUESTED", "CREATED"]);
    });

    it("cancels a message waiting for its retry: no further attempt is made", async () => {
      const previous = setup.sink.reply;
      setup.sink.reply = (request, count) =>
        request.path === "/retry-wait" ? { status: 500 } : previous(request, count);
      const res = await setup.herald.client.publish({
        url: `${setup.sink.url}/retry-wait`,
        body: "x",
        retries: 3,
        retryDelay: "1000",
      });
      await eventually(async () => {
        const { logs } = await setup.herald.client.logs({ filter: { messageId: res.messageId, state: "RETRY" } });
        return logs.length > 0 ? true : undefined;
      });
      expect(await setup.herald.client.messages.cancel(res.messageId)).toEqual({ cancelled: 1 });
      // Published after the cancel with a delay of the retry's and delivered: the retry was due before.
      await setup.herald.client.publish({ url: `${setup.sink.url}/retry-wait-witness`, body: "w", delay: 1 });
      await setup.sink.waitFor("/retry-wait-witness", 1, 10_000);
      expect(setup.sink.at("/retry-wait")).toHaveLength(1);
      setup.sink.reply = previous;
    });

    it("bulk-cancels by ids, by filter and all", async () => {
      const publish = (path: string, label: string): Promise<{ messageId: string }> =>
        setup.herald.client.publish({ url: `${setup.sink.url}${path}`, body: "x", delay: 60, label });
      const a = await publish("/bulk-a", "one");
      const b = await publish("/bulk-b", "one");
      await publish("/bulk-c", "two");
      await publish("/bulk-c", "three");

      expect(await setup.herald.client.messages.cancel([a.messageId])).toEqual({ cancelled: 1 });
      expect(await setup.herald.client.messages.cancel({ filter: { label: "one" } })).toEqual({ cancelled: 1 });
      expect(
        await setup.herald.client.messages.cancel({
          filter: { url: `${setup.sink.url}/bulk-c`, label: ["two", "three"] },
        }),
      ).toEqual({
        cancelled: 2,
      });
      const left = await setup.herald.client.publish({ url: `${setup.sink.url}/bulk-d`, body: "x", delay: 60 });
      expect(await setup.herald.client.messages.cancel({ all: true })).toEqual({ cancelled: 1 });
      await expect(setup.herald.client.messages.cancel(b.messageId)).rejects.toThrow();
      await expect(setup.herald.client.messages.cancel(left.messageId)).rejects.toThrow();
    });

    // On AWS an immediate message is a light record, in no list, until its first attempt (architecture
    // §19): a backlog in the delivery queue is where a bulk cancel must still reach it. The local server
    // lists every message (the contract specs cover both stores); it has no delivery queue to pause.
    if (mode === "aws-local") {
      it("bulk-cancels immediate messages still waiting in the delivery queue", async () => {
        const { client } = setup.herald;
        const { deliveries } = setup.herald.server as AwsLocalHerald;
        await deliveries.pause();
        let ids: string[];
        try {
          const published = await Promise.all(
            [1, 2, 3].map((n) => client.publish({ url: `${setup.sink.url}/backlog`, body: `b${n}` })),
          );
          ids = published.map((p) => p.messageId);
          let cancelled: number;
          do
            ({ cancelled } = await client.messages.cancel({ all: true })); // the SDK's documented loop
          while (cancelled > 0);
          for (const id of ids) await expect(client.messages.get(id)).rejects.toThrow(/not found/);
        } finally {
          deliveries.resume();
        }
        // Their jobs came and ended them, unattempted.
        for (const id of ids) {
          await eventually(async () => {
            const { logs } = await client.logs({ filter: { messageId: id } });
            return logs.some((l) => l.state === "CANCELED") ? logs : undefined;
          }, 15_000);
        }
        expect(setup.sink.at("/backlog")).toHaveLength(0);
      });
    }
  });

  describe("logs", () => {
    it("records CREATED, ACTIVE and DELIVERED for a delivered message, newest first", async () => {
      const res = await setup.herald.client.publish({
        url: `${setup.sink.url}/logged`,
        body: "hello",
        label: "logs-test",
      });
      const logs = await eventually(async () => {
        const page = await setup.herald.client.logs({ filter: { messageId: res.messageId } });
        return page.logs.length === 3 ? page.logs : undefined;
      });
      expect(logs.map((l) => l.state)).toEqual(["DELIVERED", "ACTIVE", "CREATED"]);
      expect(logs[2]).toMatchObject({
        messageId: res.messageId,
        url: `${setup.sink.url}/logged`,
        label: "logs-test",
        labels: ["logs-test"],
        body: Buffer.from("hello").toString("base64"),
      });
      const oldestFirst = await setup.herald.api(`/v2/logs?messageId=${res.messageId}&order=earliestFirst`);
      const body = (await oldestFirst.json()) as { logs: { state: string }[]; cursor?: string };
      expect(body.logs.map((l) => l.state)).toEqual(["CREATED", "ACTIVE", "DELIVERED"]);
      expect(body.cursor).toBeUndefined();
      // The SDKs' path answers with `events`, the OpenAPI path with `logs`.
      const sdkPath = (await (
        await setup.herald.api(`/v2/events?messageId=${res.messageId}&order=earliestFirst`)
      ).json()) as {
        events: unknown[];
      };
      expect(sdkPath.events).toEqual(body.logs);
    });

    it("keeps pages of large messages bounded in size, continuing with a cursor", async () => {
      const big = "x".repeat(900 * 1024);
      for (let i = 0; i < 6; i++) {
        await setup.herald.client.publish({
          url: `${setup.sink.url}/big-logs`,
          body: big,
          delay: 60,
          label: "big-logs",
        });
      }
      const res = await setup.herald.api("/v2/logs?label=big-logs&count=1000");
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text.length).toBeLessThan(6 * 1024 * 1024);
      const page = JSON.parse(text) as { logs: unknown[]; cursor?: string };
      expect(page.logs.length).toBeGreaterThan(0);
      expect(page.logs.length).toBeLessThan(6);
      expect(page.cursor).toBeDefined();
      await setup.herald.client.messages.cancel({ filter: { label: "big-logs" } });
    });

    it("pages with cursors, and the last page has none", async () => {
      for (let i = 0; i < 4; i++)
        await setup.herald.client.publish({ url: `${setup.sink.url}/paged`, body: `${i}`, label: "paged", delay: 60 });
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await setup.herald.client.logs({ filter: { label: "paged", state: "CREATED" }, count: 3, cursor });
        seen.push(...page.logs.map((l) => l.messageId));
        cursor = page.cursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(2);
      expect(new Set(seen).size).toBe(4);
      await setup.herald.client.messages.cancel({ filter: { label: "paged" } });
      // Pages of the events of given message ids continue with their cursor too (4 CREATED, 4 CANCEL_REQUESTED).
      const ids = [...new Set(seen)].join(",");
      const events: string[] = [];
      cursor = undefined;
      for (let page = 0; page < 10; page++) {
        const res = await setup.herald.api(`/v2/events?messageIds=${ids}&count=3${cursor ? `&cursor=${cursor}` : ""}`);
        const body = (await res.json()) as { events: { messageId: string; state: string }[]; cursor?: string };
        events.push(...body.events.map((e) => `${e.messageId}:${e.state}`));
        cursor = body.cursor;
        if (!cursor) break;
      }
      expect(cursor).toBeUndefined();
      expect(events).toHaveLength(new Set(events).size);
      expect(events.filter((e) => e.endsWith(":CANCEL_REQUESTED"))).toHaveLength(4);
    });

    it("filters by state (IN_PROGRESS too), url, host, path and time", async () => {
      const from = Date.now();
      await setup.herald.client.publish({ url: `${setup.sink.url}/filtered/x`, body: "x", delay: 60 });
      const byPath = await setup.herald.client.logs({ filter: { path: "/filtered/x", fromDate: from } });
      expect(byPath.logs.map((l) => l.state)).toEqual(["CREATED"]);
      const host = new URL(setup.sink.url).host;
      const byHost = await setup.herald.client.logs({ filter: { host, state: "CREATED", fromDate: from } });
      expect(byHost.logs).toHaveLength(1);
      const future = await setup.herald.client.logs({
        filter: { url: `${setup.sink.url}/filtered/x`, fromDate: Date.now() + 60_000 },
      });
      expect(future.logs).toHaveLength(0);
      const inProgress = await setup.herald.api("/v2/events?state=IN_PROGRESS&state=FAILED");
      expect(inProgress.status).toBe(200);
      const bad = await setup.herald.api("/v2/events?state=SLEEPING");
      expect(bad.status).toBe(400);
      await setup.herald.client.messages.cancel({ filter: { path: "/filtered/x" } });
    });
  });
});
