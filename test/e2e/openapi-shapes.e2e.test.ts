import { beforeAll, describe, expect, it } from "vitest";
import { describeEachMode, eventually, useHeraldWithSink } from "../support/herald.ts";
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
      const published = (await get(`/v2/publish/${setup.sink.url}/ok?x=1`, {
        method: "POST",
        headers: { "Upstash-Label": "shape", "Upstash-Forward-A": "b", "Content-Type": "text/plain" },
        body: "hello",
      })) as { messageId: string };
      expect(schemaErrors("PublishResponse", published)).toEqual([]);
      expect(schemaErrors("Message", await get(`/v2/messages/${published.messageId}`))).toEqual([]);

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

    it("the validator itself rejects a wrong shape", () => {
      expect(schemaErrors("Message", { messageId: 42 })).not.toEqual([]);
      expect(responseErrors("/v2/logs", "get", 200, { logs: [{ state: "SLEEPING" }] })).not.toEqual([]);
    });
  });
});
