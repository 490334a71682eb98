import { beforeAll, describe, expect, it } from "vitest";
import { describeEachMode, eventually, holdAnswers, readMessage, useHeraldWithSink } from "../support/herald.ts";
import { responseErrors, schemaErrors } from "../support/openapi.ts";

describeEachMode("OpenAPI shapes", (mode) => {
  const setup = useHeraldWithSink({ mode });
  beforeAll(() => {
    setup.sink.reply = (request) =>
      request.path.startsWith("/fail") ? { status: 500, body: "no" } : { status: 200, body: "ok" };
  });

  const get = async (path: string, init?: RequestInit): Promise<unknown> => {
    const res = await setup.herald.api(path, init);
    expect(res.status).toBeLessThan(300);
    return res.json();
  };

  describe("responses match the public QStash OpenAPI document", () => {
    it("publish, message, logs, DLQ, keys, cancel and errors", async () => {
      const release = holdAnswers(setup.sink, "/ok?x=1", 2000); // in flight, so still readable
      const published = (await get(`/v2/publish/${setup.sink.url}/ok?x=1`, {
        method: "POST",
        headers: { "Upstash-Label": "shape", "Upstash-Forward-A": "b", "Content-Type": "text/plain" },
        body: "hello",
      })) as { messageId: string };
      expect(schemaErrors("PublishResponse", published)).toEqual([]);
      expect(schemaErrors("Message", await readMessage(setup.herald, published.messageId))).toEqual([]);
      release();

      const failed = (await get(`/v2/publish/${setup.sink.url}/fail`, {
        method: "POST",
        headers: { "Upstash-Retries": "0", "Upstash-Callback": `${setup.sink.url}/cb` },
        body: "x",
      })) as { messageId: string };
      await eventually(async () => {
        const dlq = (await get(`/v2/dlq?messageId=${failed.messageId}`)) as { messages: unknown[] };
        return dlq.messages.length > 0 ? true : undefined;
      });

      const logs = (await get("/v2/logs?count=50")) as { logs: unknown[] };
      expect(logs.logs.length).toBeGreaterThan(3);
      expect(responseErrors("/v2/logs", "get", 200, logs)).toEqual([]);
      expect(responseErrors("/v2/logs", "get", 200, await get("/v2/events?state=ERROR"))).toEqual([]);

      const dlq = (await get("/v2/dlq")) as { messages: { dlqId: string }[] };
      expect(responseErrors("/v2/dlq", "get", 200, dlq)).toEqual([]);
      const dlqId = dlq.messages[0]?.dlqId as string;
      expect(schemaErrors("DLQMessage", await get(`/v2/dlq/${dlqId}`))).toEqual([]);
      const retried = await setup.herald.api(`/v2/dlq/retry/${dlqId}`, { method: "POST" });
      expect(retried.status).toBe(201);
      expect(schemaErrors("PublishResponse", await retried.json())).toEqual([]);
      const bulkRetry = await setup.herald.api("/v2/dlq/retry?count=10", { method: "POST" });
      expect(responseErrors("/v2/dlq/retry", "post", 201, await bulkRetry.json())).toEqual([]);
      expect(responseErrors("/v2/dlq", "delete", 200, await get("/v2/dlq?count=10", { method: "DELETE" }))).toEqual([]);

      expect(responseErrors("/v2/keys", "get", 200, await get("/v2/keys"))).toEqual([]);
      expect(responseErrors("/v2/keys/rotate", "post", 200, await get("/v2/keys/rotate", { method: "POST" }))).toEqual(
        [],
      );

      const delayed = (await get(`/v2/publish/${setup.sink.url}/later`, {
        method: "POST",
        headers: { "Upstash-Delay": "1h" },
      })) as { messageId: string };
      expect(
        responseErrors(
          "/v2/messages",
          "delete",
          200,
          await get(`/v2/messages?messageIds=${delayed.messageId}`, { method: "DELETE" }),
        ),
      ).toEqual([]);

      const error = await setup.herald.api("/v2/publish/ftp://x", { method: "POST" });
      expect(schemaErrors("Error", await error.json())).toEqual([]);
    });

    it("URL groups, queues, schedules, flow control and batch", async () => {
      const sink = setup.sink.url;
      await get("/v2/topics/shapes/endpoints", {
        method: "POST",
        body: JSON.stringify({ endpoints: [{ name: "one", url: `${sink}/ok/1` }, { url: `${sink}/ok/2` }] }),
      });
      expect(responseErrors("/v2/topics", "get", 200, await get("/v2/topics"))).toEqual([]);
      expect(responseErrors("/v2/topics/{urlGroupName}", "get", 200, await get("/v2/topics/shapes"))).toEqual([]);

      await get("/v2/queues", { method: "POST", body: JSON.stringify({ queueName: "shapes", parallelism: 2 }) });
      expect(responseErrors("/v2/queues", "get", 200, await get("/v2/queues"))).toEqual([]);
      expect(responseErrors("/v2/queues/{queueName}", "get", 200, await get("/v2/queues/shapes"))).toEqual([]);
      const enqueued = await get(`/v2/enqueue/shapes/${sink}/ok/q`, { method: "POST", body: "q" });
      expect(schemaErrors("PublishResponse", enqueued)).toEqual([]);

      const created = await get(`/v2/schedules/${sink}/ok/s`, {
        method: "POST",
        headers: { "Upstash-Cron": "*/5 * * * *", "Upstash-Retries": "2", "Upstash-Label": "shape" },
        body: "s",
      });
      expect(responseErrors("/v2/schedules/{destination}", "post", 200, created)).toEqual([]);
      const { scheduleId } = created as { scheduleId: string };
      expect(responseErrors("/v2/schedules", "get", 200, await get("/v2/schedules"))).toEqual([]);
      expect(
        responseErrors("/v2/schedules/{scheduleId}", "get", 200, await get(`/v2/schedules/${scheduleId}`)),
      ).toEqual([]);

      await get(`/v2/publish/${sink}/ok/fc`, {
        method: "POST",
        headers: { "Upstash-Flow-Control-Key": "shapes", "Upstash-Flow-Control-Value": "parallelism=1,rate=5" },
      });
      expect(responseErrors("/v2/flowControl", "get", 200, await get("/v2/flowControl"))).toEqual([]);
      expect(
        responseErrors("/v2/flowControl/{flowControlKey}", "get", 200, await get("/v2/flowControl/shapes")),
      ).toEqual([]);
      expect(responseErrors("/v2/globalParallelism", "get", 200, await get("/v2/globalParallelism"))).toEqual([]);

      const batch = await get("/v2/batch", {
        method: "POST",
        body: JSON.stringify([{ destination: `${sink}/ok/b1` }, { destination: `${sink}/ok/b2`, queue: "shapes" }]),
      });
      expect(responseErrors("/v2/batch", "post", 200, batch)).toEqual([]);
      // A URL-group entry answers an array, as the SDKs read it (the OpenAPI document has only objects).
      const toGroup = (await get("/v2/batch", {
        method: "POST",
        body: JSON.stringify([{ destination: "shapes", body: "to the group" }]),
      })) as unknown[][];
      expect(toGroup[0]).toHaveLength(2);
      for (const element of toGroup[0] ?? []) expect(schemaErrors("PublishResponse", element)).toEqual([]);
    });

    it("the validator itself rejects a wrong shape", () => {
      expect(schemaErrors("Message", { messageId: 42 })).not.toEqual([]);
      expect(responseErrors("/v2/logs", "get", 200, { logs: [{ state: "SLEEPING" }] })).not.toEqual([]);
    });
  });
});
