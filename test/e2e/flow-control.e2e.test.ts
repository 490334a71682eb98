import { beforeAll, expect, it } from "vitest";
import type { SinkReply } from "../support/sink.ts";
import { describeEachMode, eventually, useHeraldWithSink } from "../support/herald.ts";

describeEachMode("flow control", (mode) => {
  const setup = useHeraldWithSink({ mode });
  beforeAll(() => {
    setup.sink.reply = (): SinkReply => ({ status: 200, delayMs: 250 });
  });

  it("never runs more than `parallelism` deliveries of a key at once under a burst", async () => {
    const { client } = setup.herald;
    await Promise.all(
      Array.from({ length: 12 }, (_, n) =>
        client.publish({
          url: `${setup.sink.url}/fc-par/${n}`,
          body: String(n),
          flowControl: { key: "burst-par", parallelism: 2 },
        }),
      ),
    );
    await eventually(
      () => (setup.sink.received.filter((r) => r.path.startsWith("/fc-par/")).length === 12 ? true : undefined),
      30_000,
    );
    const parallel = () => setup.sink.received.filter((r) => r.path.startsWith("/fc-par/"));
    await eventually(() => (parallel().every((r) => r.answeredAt !== undefined) ? true : undefined)); // the last answers
    expect(setup.sink.maxInFlight("/fc-par/")).toBe(2);
  });

  it("never starts more than `rate` deliveries of a key per period under a burst", async () => {
    const { client } = setup.herald;
    await Promise.all(
      Array.from({ length: 6 }, (_, n) =>
        client.publish({
          url: `${setup.sink.url}/fc-rate/${n}`,
          body: String(n),
          flowControl: { key: "burst-rate", rate: 2, period: "1s" },
        }),
      ),
    );
    await eventually(
      () => (setup.sink.received.filter((r) => r.path.startsWith("/fc-rate/")).length === 6 ? true : undefined),
      30_000,
    );
    const starts = setup.sink.received
      .filter((r) => r.path.startsWith("/fc-rate/"))
      .map((r) => r.at)
      .sort((a, b) => a - b);
    // Any three starts span more than one period (a little less allows for delivery latency).
    for (let i = 0; i + 2 < starts.length; i++) {
      expect((starts[i + 2] as number) - (starts[i] as number)).toBeGreaterThanOrEqual(800);
    }
  });

  it("shows a key right after publish; pause holds its messages in the wait list, resume lets them go", async () => {
    const { client } = setup.herald;
    await client.publish({
      url: `${setup.sink.url}/fc-first`,
      body: "x",
      flowControl: { key: "managed", parallelism: 1, rate: 10, period: 60 },
    });
    expect(await client.flowControl.get("managed")).toMatchObject({
      flowControlKey: "managed",
      parallelismMax: 1,
      rateMax: 10,
      ratePeriod: 60,
      isPaused: false,
    });
    await setup.sink.waitFor("/fc-first");

    await client.flowControl.pause("managed");
    await client.publish({
      url: `${setup.sink.url}/fc-paused`,
      body: "y",
      flowControl: { key: "managed", parallelism: 1 },
    });
    // Its job ran and parked in the wait list (on AWS it came through the key's FIFO lane, so a witness
    // on the standard queue would prove nothing about its turn): it was not delivered.
    const paused = await eventually(async () => {
      const key = await client.flowControl.get("managed");
      return key.waitListSize === 1 ? key : undefined;
    });
    expect(paused).toMatchObject({ isPaused: true, waitListSize: 1 });
    expect(setup.sink.at("/fc-paused")).toHaveLength(0);
    await client.flowControl.resume("managed");
    await setup.sink.waitFor("/fc-paused");
    await eventually(async () => ((await client.flowControl.get("managed")).waitListSize === 0 ? true : undefined));
  });

  it("pins, unpins and resets the rate of a key; reports global parallelism; 404 for unknown keys", async () => {
    const { client, api } = setup.herald;
    await client.publish({
      url: `${setup.sink.url}/fc-pin`,
      body: "x",
      flowControl: { key: "pinned", parallelism: 5 },
    });
    await client.flowControl.pin("pinned", { parallelism: 3, rate: 20, period: 120 });
    expect(await client.flowControl.get("pinned")).toMatchObject({
      parallelismMax: 3,
      rateMax: 20,
      ratePeriod: 120,
      isPinnedParallelism: true,
      isPinnedRate: true,
    });
    // A message's own settings do not override a pin.
    await client.publish({
      url: `${setup.sink.url}/fc-pin`,
      body: "y",
      flowControl: { key: "pinned", parallelism: 9 },
    });
    expect((await client.flowControl.get("pinned")).parallelismMax).toBe(3);
    await client.flowControl.unpin("pinned", { parallelism: true });
    expect(await client.flowControl.get("pinned")).toMatchObject({ isPinnedParallelism: false, isPinnedRate: true });
    await client.flowControl.resetRate("pinned");
    expect((await client.flowControl.get("pinned")).rateCount).toBe(0);

    const global = await client.flowControl.getGlobalParallelism();
    expect(global.parallelismMax).toBeGreaterThan(0);
    expect(typeof global.parallelismCount).toBe("number");
    const list = (await (await api("/v2/flowControl?search=pin")).json()) as { flowControlKey: string }[];
    expect(list.map((k) => k.flowControlKey)).toEqual(["pinned"]);
    const unknown = await api("/v2/flowControl/nope");
    expect(unknown.status).toBe(404);
    const bad = await api(`/v2/publish/${setup.sink.url}/x`, {
      method: "POST",
      body: "x",
      headers: { "Upstash-Flow-Control-Key": "k", "Upstash-Flow-Control-Value": "parallelism=zero" },
    });
    expect(bad.status).toBe(400);
    const message = await client.publish({
      url: `${setup.sink.url}/fc-fields`,
      body: "x",
      delay: 3600,
      flowControl: { key: "fields", parallelism: 2, rate: 5, period: "1d" },
    });
    expect(await client.messages.get(message.messageId)).toMatchObject({
      flowControlKey: "fields",
      parallelism: 2,
      rate: 5,
      period: 86400,
    });
    expect(await client.messages.cancel({ filter: { flowControlKey: "fields" } })).toEqual({ cancelled: 1 });
  });
});
