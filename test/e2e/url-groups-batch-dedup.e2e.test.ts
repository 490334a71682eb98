import { describe, expect, it } from "vitest";
import { describeEachMode, eventually, holdAnswers, readMessage, useHeraldWithSink } from "../support/herald.ts";

describeEachMode("URL groups, batch, deduplication and labels", (mode) => {
  const setup = useHeraldWithSink({ mode });

  describe("URL groups", () => {
    it("upserts, gets, lists, removes endpoints and deletes, with endpoints of exactly {name, url}", async () => {
      const { client, api } = setup.herald;
      const sink = setup.sink.url;
      await client.urlGroups.addEndpoints({
        name: "team",
        endpoints: [
          { name: "a", url: `${sink}/a` },
          { name: "b", url: `${sink}/b` },
        ],
      });
      await client.urlGroups.addEndpoints({ name: "team", endpoints: [{ name: "c", url: `${sink}/c` }] });
      const group = await client.urlGroups.get("team");
      expect(group.name).toBe("team");
      expect(group.endpoints).toEqual([
        { name: "a", url: `${sink}/a` },
        { name: "b", url: `${sink}/b` },
        { name: "c", url: `${sink}/c` },
      ]);
      expect(typeof group.createdAt).toBe("number");
      expect((await client.urlGroups.list()).map((g) => g.name)).toContain("team");

      await client.urlGroups.removeEndpoints({ name: "team", endpoints: [{ name: "b" }] });
      expect((await client.urlGroups.get("team")).endpoints.map((e) => e.name)).toEqual(["a", "c"]);

      await client.urlGroups.addEndpoints({ name: "gone", endpoints: [{ url: `${sink}/x` }] });
      await client.urlGroups.delete("gone");
      const missing = await api("/v2/topics/gone");
      expect(missing.status).toBe(404);
      expect(await missing.json()).toEqual({ error: expect.stringContaining("gone") });
    });

    it("fans a publish out to every endpoint: own message ids, Upstash-Topic-Name, topicName/endpointName", async () => {
      const { client } = setup.herald;
      const sink = setup.sink.url;
      await client.urlGroups.addEndpoints({
        name: "fanout",
        endpoints: [
          { name: "one", url: `${sink}/fan/1` },
          { name: "two", url: `${sink}/fan/2` },
          { name: "three", url: `${sink}/fan/3` },
        ],
      });
      const release = holdAnswers(setup.sink, "/fan/1", 3000); // in flight, so still readable
      const results = await client.publish({ urlGroup: "fanout", body: "to all" });
      expect(Array.isArray(results)).toBe(true);
      expect(results).toHaveLength(3);
      expect(new Set(results.map((r) => r.messageId)).size).toBe(3);
      for (const path of ["/fan/1", "/fan/2", "/fan/3"]) {
        const [received] = await setup.sink.waitFor(path);
        expect(received?.body.toString()).toBe("to all");
        expect(received?.headers["upstash-topic-name"]).toBe("fanout");
        const result = results.find((r) => r.url === `${sink}${path}`);
        expect(received?.headers["upstash-message-id"]).toBe(result?.messageId);
        await expect(
          setup.herald.receiver.verify({
            signature: received?.headers["upstash-signature"] as string,
            body: "to all",
            url: `${sink}${path}`,
          }),
        ).resolves.toBe(true);
      }
      const message = await readMessage(setup.herald, results[0]?.messageId as string);
      expect(message).toMatchObject({ topicName: "fanout", endpointName: "one" });
      release();
    });

    it("answers 404 for a publish to a group that does not exist, and 400 for bad endpoint input", async () => {
      const { api } = setup.herald;
      const res = await api("/v2/publish/no-such-group", { method: "POST", body: "x" });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: expect.stringContaining("no-such-group") });
      const bad = await api("/v2/topics/g/endpoints", { method: "POST", body: '{"endpoints":[{"url":"ftp://x"}]}' });
      expect(bad.status).toBe(400);
      const notJson = await api("/v2/topics/g/endpoints", { method: "POST", body: "{" });
      expect(notJson.status).toBe(400);
    });
  });

  describe("batch", () => {
    it("publishes a batch mixing a URL, a URL group and a queue, index-aligned", async () => {
      const { client } = setup.herald;
      const sink = setup.sink.url;
      await client.urlGroups.addEndpoints({
        name: "batch-group",
        endpoints: [
          { name: "x", url: `${sink}/batch/group-x` },
          { name: "y", url: `${sink}/batch/group-y` },
        ],
      });
      const release = holdAnswers(setup.sink, "/batch/queued", 2000); // in flight, so still readable
      const results = await client.batchJSON([
        { url: `${sink}/batch/url`, body: { n: 1 }, headers: { "X-Entry": "first" } },
        { urlGroup: "batch-group", body: { n: 2 } },
        { url: `${sink}/batch/queued`, body: { n: 3 }, queueName: "batch-queue" },
      ]);
      expect(results).toHaveLength(3);
      expect(results[0]).toMatchObject({ messageId: expect.any(String), url: `${sink}/batch/url` });
      expect(Array.isArray(results[1])).toBe(true);
      expect(results[1]).toHaveLength(2);
      const [url] = await setup.sink.waitFor("/batch/url");
      expect(JSON.parse(url?.body.toString() ?? "")).toEqual({ n: 1 });
      expect(url?.headers["x-entry"]).toBe("first");
      await setup.sink.waitFor("/batch/group-x");
      await setup.sink.waitFor("/batch/group-y");
      const [queued] = await setup.sink.waitFor("/batch/queued");
      expect(JSON.parse(queued?.body.toString() ?? "")).toEqual({ n: 3 });
      expect((await client.messages.get((results[2] as { messageId: string }).messageId)).queueName).toBe(
        "batch-queue",
      );
      release();
    });

    it("rejects a batch with one bad entry as a whole, naming the entry, and publishes nothing", async () => {
      const { api } = setup.herald;
      const sink = setup.sink.url;
      const res = await api("/v2/batch", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify([
          { destination: `${sink}/batch/never` },
          { destination: `${sink}/batch/never`, headers: { "upstash-retries": "lots" } },
        ]),
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: expect.stringMatching(/^batch entry 1: .*Upstash-Retries/) });
      for (const body of ["{", '{"destination":"x"}', '[{"destination": 5}]']) {
        const bad = await api("/v2/batch", { method: "POST", body });
        expect(bad.status).toBe(400);
      }
      // Published after the refused batches and delivered: anything they had published would have been too.
      await api(`/v2/publish/${sink}/batch/witness`, { method: "POST", body: "w" });
      await setup.sink.waitFor("/batch/witness");
      expect(setup.sink.at("/batch/never")).toHaveLength(0);
    });
  });

  describe("sizes a message record cannot hold", () => {
    it("refuses a batch entry with too many header bytes or too long a destination, publishing nothing", async () => {
      const { api } = setup.herald;
      const sink = setup.sink.url;
      const batch = (second: Record<string, unknown>) =>
        api("/v2/batch", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify([{ destination: `${sink}/sizes/never`, body: "a" }, second]),
        });
      // 450 KB: more than a DynamoDB item holds (it answered 500 after the first entry was sent).
      const headers = await batch({
        destination: `${sink}/sizes/never`,
        headers: { "upstash-forward-x-big": "h".repeat(450_000) },
      });
      expect(headers.status).toBe(431);
      expect(await headers.json()).toEqual({ error: expect.stringMatching(/^batch entry 1: headers too large/) });
      const url = await batch({ destination: `${sink}/sizes/never?q=${"u".repeat(20_000)}` });
      expect(url.status).toBe(400);
      expect(await url.json()).toEqual({
        error: expect.stringMatching(/^batch entry 1: invalid destination url: longer/),
      });
      await api(`/v2/publish/${sink}/sizes/witness`, { method: "POST", body: "w" });
      await setup.sink.waitFor("/sizes/witness");
      expect(setup.sink.at("/sizes/never")).toHaveLength(0);
    });

    it("refuses endpoints whose URLs a URL group cannot hold, and keeps the group as it was", async () => {
      const { api, client } = setup.herald;
      const sink = setup.sink.url;
      await client.urlGroups.addEndpoints({ name: "sizes", endpoints: [{ url: `${sink}/sizes/kept` }] });
      const add = (endpoints: { url: string }[]) =>
        api("/v2/topics/sizes/endpoints", { method: "POST", body: JSON.stringify({ endpoints }) });
      const tooLong = await add([{ url: `${sink}/${"u".repeat(20_000)}` }]);
      expect(tooLong.status).toBe(400);
      expect(await tooLong.json()).toEqual({ error: expect.stringContaining("longer than 16384 characters") });
      // 100 URLs of 3.6 KB: each allowed, together more than one item holds (it answered 500 on DynamoDB).
      const many = Array.from({ length: 99 }, (_, i) => ({ url: `${sink}/${i}/${"u".repeat(3600)}` }));
      const together = await add(many);
      expect(together.status).toBe(400);
      expect(await together.json()).toEqual({ error: expect.stringContaining("at most 262144 bytes") });
      expect((await client.urlGroups.get("sizes")).endpoints).toEqual([{ url: `${sink}/sizes/kept` }]);
    });
  });

  describe("deduplication", () => {
    it("delivers a message published twice with one deduplication id once; the duplicate gets 202 and the same id", async () => {
      const { api } = setup.herald;
      const url = `${setup.sink.url}/dedup/id`;
      const publish = () =>
        api(`/v2/publish/${url}`, { method: "POST", body: "once", headers: { "Upstash-Deduplication-Id": "d-1" } });
      const [first, second, third] = await Promise.all([publish(), publish(), publish()]);
      const statuses = [first, second, third].map((r) => r?.status).sort();
      expect(statuses).toEqual([200, 202, 202]);
      const bodies = (await Promise.all([first, second, third].map((r) => r?.json()))) as {
        messageId: string;
        deduplicated?: boolean;
      }[];
      expect(new Set(bodies.map((b) => b.messageId)).size).toBe(1);
      expect(bodies.filter((b) => b.deduplicated === true)).toHaveLength(2);
      await setup.sink.waitFor("/dedup/id");
      // Published after the duplicates and delivered: a second delivery of theirs would have come first.
      await api(`/v2/publish/${setup.sink.url}/dedup/id-witness`, { method: "POST", body: "w" });
      await setup.sink.waitFor("/dedup/id-witness");
      expect(setup.sink.at("/dedup/id")).toHaveLength(1);
    });

    it("takes a deduplication id from an upstash-deduplication-id query parameter as from the header", async () => {
      const { api } = setup.herald;
      const publish = () =>
        api(`/v2/publish/${setup.sink.url}/dedup/query?upstash-deduplication-id=q-1`, { method: "POST", body: "q" });
      const first = await publish();
      const second = await publish();
      expect([first.status, second.status]).toEqual([200, 202]);
      const [a, b] = (await Promise.all([first.json(), second.json()])) as { messageId: string }[];
      expect(b?.messageId).toBe(a?.messageId);
      await setup.sink.waitFor("/dedup/query");
    });

    it("does not take a body that reads like a forwarded header for that header (content-based)", async () => {
      const { api } = setup.herald;
      const url = `/v2/publish/${setup.sink.url}/dedup/ambiguous`;
      const contentBased = { "Content-Type": "text/plain", "Upstash-Content-Based-Deduplication": "true" };
      const a = await api(url, { method: "POST", headers: contentBased, body: "X-Foo:1\nhi" });
      const b = await api(url, {
        method: "POST",
        headers: { ...contentBased, "Upstash-Forward-X-Foo": "1" },
        body: "hi",
      });
      expect([a.status, b.status]).toEqual([200, 200]);
      await setup.sink.waitFor("/dedup/ambiguous", 2);
    });

    it("deduplicates by content with the SDK: same body once, a different body again", async () => {
      const { client } = setup.herald;
      const url = `${setup.sink.url}/dedup/content`;
      const a = await client.publish({ url, body: "same", contentBasedDeduplication: true });
      const b = await client.publish({ url, body: "same", contentBasedDeduplication: true });
      const c = await client.publish({ url, body: "other", contentBasedDeduplication: true });
      expect(b).toEqual({ messageId: a.messageId, url, deduplicated: true });
      expect(c.messageId).not.toBe(a.messageId);
      await setup.sink.waitFor("/dedup/content", 2);
      await client.publish({ url: `${setup.sink.url}/dedup/content-witness`, body: "w" });
      await setup.sink.waitFor("/dedup/content-witness");
      expect(
        setup.sink
          .at("/dedup/content")
          .map((r) => r.body.toString())
          .sort(),
      ).toEqual(["other", "same"]);
    });
  });

  describe("labels", () => {
    it("stores labels and filters logs, DLQ and bulk cancel by them", async () => {
      const { client } = setup.herald;
      const url = `${setup.sink.url}/labelled`;
      const kept = await client.publish({ url, body: "x", label: ["billing", "eu"], delay: 3600 });
      const other = await client.publish({ url, body: "y", label: "other", delay: 3600 });
      const message = await client.messages.get(kept.messageId);
      expect(message).toMatchObject({ label: "billing", labels: ["billing", "eu"] });
      const logs = await eventually(async () => {
        const page = await client.logs({ filter: { label: "eu" } });
        return page.logs.length > 0 ? page.logs : undefined;
      });
      expect(new Set(logs.map((l) => l.messageId))).toEqual(new Set([kept.messageId]));
      expect(await client.messages.cancel({ filter: { label: "billing" } })).toEqual({ cancelled: 1 });
      expect(await client.messages.cancel([other.messageId])).toEqual({ cancelled: 1 });

      const failing = await client.publish({ url: `http://127.0.0.1:1/down`, body: "z", retries: 0, label: "dead" });
      const dlq = await eventually(async () => {
        const page = await client.dlq.listMessages({ filter: { label: "dead" } });
        return page.messages.length > 0 ? page.messages : undefined;
      });
      expect(dlq.map((m) => m.messageId)).toEqual([failing.messageId]);
    });
  });
});
