import { beforeAll, expect, it } from "vitest";
import type { SinkReply } from "../support/sink.ts";
import { describeEachMode, eventually, useHeraldWithSink } from "../support/herald.ts";

describeEachMode("queues", (mode) => {
  const setup = useHeraldWithSink({ mode });
  beforeAll(() => {
    setup.sink.reply = (request, count): SinkReply => {
      if (request.path.startsWith("/q-flaky")) return count <= 2 ? { status: 500 } : { status: 200 };
      if (request.path.startsWith("/q-slow-callback")) return { status: 200, delayMs: 600 };
      return { status: 200, delayMs: 80 };
    };
  });
  const order = (prefix: string): number[] =>
    setup.sink.received.filter((r) => r.path.startsWith(prefix)).map((r) => Number(JSON.parse(r.body.toString()).n));

  it("delivers 20 messages in order, one at a time, with parallelism 1", async () => {
    const queue = setup.herald.client.queue({ queueName: "serial" });
    for (let n = 0; n < 20; n++) await queue.enqueueJSON({ url: `${setup.sink.url}/serial/${n}`, body: { n } });
    await eventually(() => (order("/serial/").length === 20 ? true : undefined), 30_000);
    expect(order("/serial/")).toEqual(Array.from({ length: 20 }, (_, n) => n));
    expect(setup.sink.maxInFlight("/serial/")).toBe(1);
  });

  it("overlaps deliveries with parallelism 3, never more than 3 at once, under a burst of 50 concurrent enqueues", async () => {
    const queue = setup.herald.client.queue({ queueName: "wide" });
    await queue.upsert({ parallelism: 3 });
    await Promise.all(
      Array.from({ length: 50 }, (_, n) => queue.enqueueJSON({ url: `${setup.sink.url}/wide/${n}`, body: { n } })),
    );
    await eventually(() => (order("/wide/").length === 50 ? true : undefined), 60_000);
    expect(new Set(order("/wide/")).size).toBe(50);
    expect(setup.sink.maxInFlight("/wide/")).toBeGreaterThanOrEqual(2);
    expect(setup.sink.maxInFlight("/wide/")).toBeLessThanOrEqual(3);
  });

  it("holds the next message until the previous one's retries and callback are done", async () => {
    const queue = setup.herald.client.queue({ queueName: "patient" });
    await queue.enqueueJSON({
      url: `${setup.sink.url}/q-flaky/0`,
      body: { n: 0 },
      retries: 3,
      retryDelay: "200",
      callback: `${setup.sink.url}/q-slow-callback/0`,
    });
    await queue.enqueueJSON({ url: `${setup.sink.url}/q-after/1`, body: { n: 1 } });
    const [next] = await setup.sink.waitFor("/q-after/1", 1, 20_000);
    const attempts = setup.sink.at("/q-flaky/0");
    expect(attempts).toHaveLength(3);
    const callbacks = setup.sink.received.filter((r) => r.path === "/q-slow-callback/0");
    expect(callbacks).toHaveLength(3); // one per attempt
    const lastAnswered = Math.max(...callbacks.map((c) => c.answeredAt ?? Number.POSITIVE_INFINITY));
    expect(next?.at).toBeGreaterThanOrEqual(lastAnswered);
  });

  it("keeps accepting while paused, delivers nothing, and resumes in order", async () => {
    const { client } = setup.herald;
    const queue = client.queue({ queueName: "held" });
    await queue.upsert({ parallelism: 1, paused: true });
    expect(await queue.get()).toMatchObject({ name: "held", paused: true, parallelism: 1, lag: 0 });
    for (let n = 0; n < 3; n++) await queue.enqueueJSON({ url: `${setup.sink.url}/held/${n}`, body: { n } });
    // Enqueued after the held ones and delivered: the platform's delivery runs, the held ones wait.
    await client.publish({ url: `${setup.sink.url}/held-witness/0`, body: "w" });
    await setup.sink.waitFor("/held-witness/0");
    // On AWS the held messages' jobs reach the store from their FIFO lane: lag counts them once they have.
    await eventually(async () => ((await queue.get()).lag === 3 ? true : undefined), 15_000);
    expect(order("/held/")).toEqual([]);
    await queue.resume();
    await eventually(() => (order("/held/").length === 3 ? true : undefined), 15_000);
    expect(order("/held/")).toEqual([0, 1, 2]);
    await eventually(async () => ((await queue.get()).lag === 0 ? true : undefined));

    await queue.pause();
    await queue.enqueueJSON({ url: `${setup.sink.url}/held/3`, body: { n: 3 } });
    await client.publish({ url: `${setup.sink.url}/held-witness/1`, body: "w" });
    await setup.sink.waitFor("/held-witness/1");
    expect(order("/held/")).toEqual([0, 1, 2]);
    await queue.upsert({ parallelism: 1, paused: false });
    await eventually(() => (order("/held/").length === 4 ? true : undefined), 15_000);
  });

  it("upserts, lists and deletes queues; bad input is a JSON 400, unknown queues 404", async () => {
    const { client, api } = setup.herald;
    await client.queue({ queueName: "listed" }).upsert({ parallelism: 2 });
    const listed = (await client.queue().list()).find((q) => q.name === "listed");
    expect(listed).toMatchObject({ name: "listed", parallelism: 2, lag: 0, paused: false });
    expect(typeof listed?.createdAt).toBe("number");
    await client.queue({ queueName: "listed" }).delete();
    expect((await client.queue().list()).map((q) => q.name)).not.toContain("listed");
    expect((await api("/v2/queues/listed")).status).toBe(404);
    for (const body of ['{"queueName":"bad name!"}', '{"queueName":"q","parallelism":0}', "{"]) {
      const res = await api("/v2/queues", { method: "POST", body });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: expect.any(String) });
    }
    const badEnqueue = await api(`/v2/enqueue/bad%20name/${setup.sink.url}/x`, { method: "POST", body: "x" });
    expect(badEnqueue.status).toBe(400);
  });
});
