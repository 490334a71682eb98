// What the official SDK's own suite checks against QStash, and the edges around it, with the SDK as the
// client on both platforms: redaction, the message lifecycle (404 once final), immediate messages
// readable and cancellable from their publish on, bulk cancel's `count`, and 413 reaching the client.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  describeEachMode,
  eventually,
  holdAnswers,
  readMessage,
  startHerald,
  useHeraldWithSink,
  type TestHerald,
} from "../support/herald.ts";
import { Sink } from "../support/sink.ts";

const redacted = (value: string): string => `REDACTED:${createHash("sha256").update(value).digest("hex")}`;
const base64 = (text: string): string => Buffer.from(text).toString("base64");

interface LogEntry {
  time: number;
  state: string;
  body?: string;
  header?: Record<string, string[]>;
  messageId: string;
}

async function logsOf(herald: TestHerald, query: string): Promise<LogEntry[]> {
  const res = await herald.api(`/v2/logs?${query}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { logs: LogEntry[] }).logs;
}

/** Nothing in `text` shows `secret`, in plain text or base64. */
function expectHidden(text: string, ...secrets: string[]): void {
  for (const secret of secrets) {
    expect(text).not.toContain(secret);
    expect(text).not.toContain(base64(secret));
  }
}

describeEachMode("QStash fidelity", (mode) => {
  const setup = useHeraldWithSink({ mode });

  describe("redaction (Upstash-Redact-Fields)", () => {
    it("shows REDACTED:<sha256> in messages and logs, to either token, and delivers the originals", async () => {
      const { client, receiver } = setup.herald;
      const url = `${setup.sink.url}/redact/basic`;
      const release = holdAnswers(setup.sink, "/redact/basic", 2000); // in flight, so still readable
      const body = JSON.stringify({ password: "hunter2-secret" });
      const { messageId } = await client.publishJSON({
        url,
        body: { password: "hunter2-secret" },
        headers: { Authorization: "Bearer token-to-hide", "X-Public": "visible" },
        redact: { body: true, header: ["Authorization"] },
      });
      const [got] = await setup.sink.waitFor("/redact/basic");
      expect(got?.body.toString()).toBe(body);
      expect(got?.headers.authorization).toBe("Bearer token-to-hide");
      await expect(
        receiver.verify({ signature: got?.headers["upstash-signature"] as string, body, url }),
      ).resolves.toBe(true);

      for (const token of [setup.herald.server.token, setup.herald.server.readOnlyToken]) {
        const res = await setup.herald.api(`/v2/messages/${messageId}`, { token });
        expect(res.status).toBe(200);
        const text = await res.text();
        const message = JSON.parse(text) as { body: string; header: Record<string, string[]> };
        expect(message.body).toBe(redacted(body));
        expect(message.header.Authorization).toEqual([redacted("Bearer token-to-hide")]);
        expect(message.header["X-Public"]).toEqual(["visible"]);
        expectHidden(text, "hunter2-secret", "token-to-hide");
      }
      release();
      const logs = await eventually(async () => {
        const entries = await logsOf(setup.herald, `messageId=${messageId}`);
        return entries.some((e) => e.state === "DELIVERED") ? entries : undefined;
      });
      for (const entry of logs.filter((e) => e.header !== undefined)) {
        expect(Buffer.from(entry.body as string, "base64").toString()).toBe(redacted(body));
        expect(entry.header?.Authorization).toEqual([redacted("Bearer token-to-hide")]);
      }
      const sdkLogs = await client.logs({ filter: { messageId } });
      expectHidden(JSON.stringify(sdkLogs), "hunter2-secret", "token-to-hide");
      const readOnly = await setup.herald.api(`/v2/events?messageId=${messageId}`, {
        token: setup.herald.server.readOnlyToken,
      });
      expectHidden(await readOnly.text(), "hunter2-secret", "token-to-hide");
    });

    it("redacts in the DLQ and in failure callbacks, and a DLQ retry delivers the originals", async () => {
      const { client } = setup.herald;
      const previous = setup.sink.reply;
      setup.sink.reply = (request, count) =>
        request.path === "/redact/dlq" && count === 1 ? { status: 500 } : previous(request, count);
      const { messageId } = await client.publish({
        url: `${setup.sink.url}/redact/dlq`,
        body: "dlq-secret-body",
        headers: { "X-Api-Key": "dlq-secret-key" },
        retries: 0,
        failureCallback: `${setup.sink.url}/redact/dlq-failure`,
        redact: { body: true, header: true },
      });
      const entry = await eventually(async () => {
        const { messages } = await client.dlq.listMessages({ filter: { messageId } });
        return messages[0];
      });
      const listed = await setup.herald.api(`/v2/dlq?messageId=${messageId}`, {
        token: setup.herald.server.readOnlyToken,
      });
      const one = await setup.herald.api(`/v2/dlq/${entry.dlqId}`, { token: setup.herald.server.readOnlyToken });
      for (const text of [await listed.text(), await one.text(), JSON.stringify(entry)]) {
        expectHidden(text, "dlq-secret-body", "dlq-secret-key");
        expect(text).toContain(redacted("dlq-secret-body"));
        expect(text).toContain(redacted("dlq-secret-key"));
      }
      // The failure callback's body carries the source's body and headers: it is shown redacted too.
      const [failure] = await setup.sink.waitFor("/redact/dlq-failure");
      expect(JSON.parse(failure?.body.toString() as string).sourceBody).toBe(base64("dlq-secret-body"));
      const callbackLogs = await eventually(async () => {
        const entries = await logsOf(setup.herald, `url=${encodeURIComponent(`${setup.sink.url}/redact/dlq-failure`)}`);
        return entries.some((e) => e.state === "DELIVERED") ? entries : undefined;
      });
      expectHidden(JSON.stringify(callbackLogs), "dlq-secret-body", "dlq-secret-key");

      await client.dlq.retry({ dlqIds: [entry.dlqId] });
      const attempts = await setup.sink.waitFor("/redact/dlq", 2);
      expect(attempts[1]?.body.toString()).toBe("dlq-secret-body");
      expect(attempts[1]?.headers["x-api-key"]).toBe("dlq-secret-key");
      setup.sink.reply = previous;
    });

    it("hides the headers forwarded to a callback in the callback message's own views too", async () => {
      const path = "/redact/forwarded-callback";
      const release = holdAnswers(setup.sink, path, 3000); // the callback in flight, so still readable
      const res = await setup.herald.api(`/v2/publish/${setup.sink.url}/redact/forwarding`, {
        method: "POST",
        body: "x",
        headers: {
          "Upstash-Redact-Fields": "header",
          "Upstash-Callback": `${setup.sink.url}${path}`,
          "Upstash-Callback-Forward-Authorization": "Bearer callback-secret-token",
        },
      });
      expect(res.status).toBe(200);
      const [callback] = await setup.sink.waitFor(path);
      // Delivered as given: redaction is about what the API shows.
      expect(callback?.headers.authorization).toBe("Bearer callback-secret-token");
      const callbackId = callback?.headers["upstash-message-id"] as string;
      const token = setup.herald.server.readOnlyToken;
      const shown = await setup.herald.api(`/v2/messages/${callbackId}`, { token });
      expect(shown.status).toBe(200);
      const message = JSON.parse(await shown.text()) as { header: Record<string, string[]> };
      expect(message.header.Authorization).toEqual([redacted("Bearer callback-secret-token")]);
      // What Herald sets itself is no secret of the publisher's.
      expect(message.header["Content-Type"]).toEqual(["application/json"]);
      release();
      const logs = await eventually(async () => {
        const answer = await setup.herald.api(`/v2/events?messageId=${callbackId}`, { token });
        const text = await answer.text();
        return text.includes("DELIVERED") ? text : undefined;
      });
      expectHidden(logs, "callback-secret-token");
    });

    it("applies a schedule's redaction to the schedule and to every firing", async () => {
      const { client, server } = setup.herald;
      const destination = `${setup.sink.url}/redact/scheduled`;
      const { scheduleId } = await client.schedules.create({
        destination,
        cron: "* * * * *",
        body: "schedule-secret",
        headers: { Authorization: "Bearer schedule-token" },
        redact: { body: true, header: ["Authorization"] },
      });
      const schedule = await client.schedules.get(scheduleId);
      expectHidden(JSON.stringify(schedule), "schedule-secret", "schedule-token");
      expect((schedule as { body?: string }).body).toBe(redacted("schedule-secret"));
      expectHidden(JSON.stringify(await client.schedules.list()), "schedule-secret", "schedule-token");

      await server.runDueSchedules(schedule.nextScheduleTime as number);
      const [got] = await setup.sink.waitFor("/redact/scheduled");
      expect(got?.body.toString()).toBe("schedule-secret");
      expect(got?.headers.authorization).toBe("Bearer schedule-token");
      const logs = await eventually(async () => {
        const entries = await logsOf(setup.herald, `scheduleId=${scheduleId}`);
        return entries.some((e) => e.state === "DELIVERED") ? entries : undefined;
      });
      expectHidden(JSON.stringify(logs), "schedule-secret", "schedule-token");
      await client.schedules.delete(scheduleId);
    });

    it("redacts batch entries and enqueued messages, and reads QStash's `headers` spelling", async () => {
      const { client } = setup.herald;
      const [batched] = (await client.batchJSON([
        {
          url: `${setup.sink.url}/redact/batch`,
          body: { secret: "batch-secret" },
          delay: 60,
          redact: { body: true },
        },
      ])) as { messageId: string }[];
      const enqueued = await client.queue({ queueName: "redact-queue" }).enqueue({
        url: `${setup.sink.url}/redact/queue`,
        body: "queue-secret",
        headers: { "X-Token": "queue-token" },
        delay: 60,
        redact: { header: ["X-Token"] },
      });
      const raw = await setup.herald.api(`/v2/publish/${setup.sink.url}/redact/raw`, {
        method: "POST",
        headers: {
          "Upstash-Redact-Fields": "body, headers[x-raw-secret]",
          "Upstash-Forward-X-Raw-Secret": "raw-header-secret",
          "Upstash-Delay": "60s",
        },
        body: "raw-body-secret",
      });
      expect(raw.status).toBe(200);
      const rawId = ((await raw.json()) as { messageId: string }).messageId;
      expect((await readMessage(setup.herald, batched?.messageId as string)).body).toBe(
        redacted(JSON.stringify({ secret: "batch-secret" })),
      );
      const queued = await readMessage(setup.herald, enqueued.messageId);
      expect(queued.body).toBe("queue-secret");
      expect((queued.header as Record<string, string[]>)["X-Token"]).toEqual([redacted("queue-token")]);
      const rawMessage = await readMessage(setup.herald, rawId);
      expect(rawMessage.body).toBe(redacted("raw-body-secret"));
      expect((rawMessage.header as Record<string, string[]>)["X-Raw-Secret"]).toEqual([redacted("raw-header-secret")]);
      await client.messages.cancel([batched?.messageId as string, enqueued.messageId, rawId]);
    });

    it("answers 400 for an unknown redact field, and publishes nothing", async () => {
      const res = await setup.herald.api(`/v2/publish/${setup.sink.url}/redact/bad`, {
        method: "POST",
        headers: { "Upstash-Redact-Fields": "body,cookies" },
        body: "x",
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: expect.stringContaining("Upstash-Redact-Fields") });
    });
  });

  describe("message lifecycle", () => {
    it("answers 404 to GET and DELETE once a message is delivered, failed or cancelled; the logs keep it", async () => {
      const { client } = setup.herald;
      const previous = setup.sink.reply;
      setup.sink.reply = (request, count) =>
        request.path === "/lifecycle/fail" ? { status: 500 } : previous(request, count);
      const delivered = await client.publish({ url: `${setup.sink.url}/lifecycle/ok`, body: "x" });
      const failed = await client.publish({ url: `${setup.sink.url}/lifecycle/fail`, body: "x", retries: 0 });
      const cancelled = await client.publish({ url: `${setup.sink.url}/lifecycle/cancel`, body: "x", delay: 60 });
      expect((await readMessage(setup.herald, cancelled.messageId)).messageId).toBe(cancelled.messageId);
      expect(await client.messages.cancel(cancelled.messageId)).toEqual({ cancelled: 1 });

      const finalStates = { [delivered.messageId]: "DELIVERED", [failed.messageId]: "FAILED" };
      for (const [id, state] of Object.entries(finalStates)) {
        await eventually(async () =>
          (await logsOf(setup.herald, `messageId=${id}`)).some((e) => e.state === state) ? true : undefined,
        );
      }
      for (const id of [delivered.messageId, failed.messageId, cancelled.messageId]) {
        const get = await setup.herald.api(`/v2/messages/${id}`);
        expect(get.status).toBe(404);
        expect(await get.json()).toEqual({ error: expect.stringContaining(id) });
        expect((await setup.herald.api(`/v2/messages/${id}`, { method: "DELETE" })).status).toBe(404);
        await expect(client.messages.get(id)).rejects.toThrow();
      }
      const history = (await logsOf(setup.herald, `messageId=${delivered.messageId}`)).map((e) => e.state);
      expect(history).toEqual(["DELIVERED", "ACTIVE", "CREATED"]);
      expect((await logsOf(setup.herald, `messageId=${cancelled.messageId}`)).map((e) => e.state)).toContain(
        "CANCEL_REQUESTED",
      );
      expect((await client.dlq.listMessages({ filter: { messageId: failed.messageId } })).messages).toHaveLength(1);
      setup.sink.reply = previous;
    });

    it("reads and cancels an immediate message right after its publish is answered", async () => {
      const { client } = setup.herald;
      const release = holdAnswers(setup.sink, "/lifecycle/immediate", 3000);
      const { messageId } = await client.publish({ url: `${setup.sink.url}/lifecycle/immediate`, body: "now" });
      const message = await client.messages.get(messageId);
      expect(message).toMatchObject({ messageId, body: "now", url: `${setup.sink.url}/lifecycle/immediate` });
      release();
    });

    it("a cancel answered before an attempt starts prevents it; one that meets an attempt leaves it be", async () => {
      // Raced as clients race it: publish, then cancel at once. Either outcome is allowed per round, but
      // a delivered message must have started its attempt (ACTIVE) before the cancel was answered, and a
      // cancelled one is never delivered.
      const { client } = setup.herald;
      const rounds = 15;
      const outcomes: string[] = [];
      for (let i = 0; i < rounds; i++) {
        const path = `/lifecycle/race/${i}`;
        const { messageId } = await client.publish({ url: `${setup.sink.url}${path}`, body: String(i) });
        const cancel = await setup.herald.api(`/v2/messages/${messageId}`, { method: "DELETE" });
        const answeredAt = Date.now();
        const logs = await eventually(async () => {
          const entries = await logsOf(setup.herald, `messageId=${messageId}`);
          return entries.some((e) => ["CANCELED", "DELIVERED"].includes(e.state)) ? entries : undefined;
        });
        const final = logs.find((e) => ["CANCELED", "DELIVERED"].includes(e.state))?.state as string;
        outcomes.push(`${cancel.status}:${final}`);
        if (final === "CANCELED") {
          expect(cancel.status).toBe(200);
          // CANCELED is written by the job that would have made the attempt, in place of it.
          expect(setup.sink.at(path)).toHaveLength(0);
          expect(logs.map((e) => e.state)).not.toContain("ACTIVE");
        } else {
          await setup.sink.waitFor(path);
          const active = logs.find((e) => e.state === "ACTIVE");
          expect(active?.time).toBeLessThanOrEqual(answeredAt);
        }
      }
      expect(outcomes).toHaveLength(rounds);
    });

    it("cancels at most `count` messages per bulk call, and later calls cancel the rest", async () => {
      const { client } = setup.herald;
      const label = `count-${mode}`;
      for (let i = 0; i < 3; i++) {
        await client.publish({ url: `${setup.sink.url}/count/${i}`, body: "x", delay: 600, label });
      }
      expect(await client.messages.cancel({ filter: { label }, count: 2 })).toEqual({ cancelled: 2 });
      expect(await client.messages.cancel({ filter: { label }, count: 2 })).toEqual({ cancelled: 1 });
      expect(await client.messages.cancel({ filter: { label }, count: 2 })).toEqual({ cancelled: 0 });

      const batch = (await client.batchJSON([
        { url: `${setup.sink.url}/count/all`, body: { n: 1 }, delay: "10d" },
        { url: `${setup.sink.url}/count/all`, body: { n: 2 }, delay: "10d" },
      ])) as { messageId: string }[];
      // `all` with a count of 1 (other tests of this file may have left pending messages too).
      expect(await client.messages.cancel({ all: true, count: 1 })).toEqual({ cancelled: 1 });
      let calls = 1;
      while ((await client.messages.cancel({ all: true, count: 1 })).cancelled === 1) calls++;
      expect(calls).toBeGreaterThanOrEqual(2);
      for (const { messageId } of batch) {
        expect((await setup.herald.api(`/v2/messages/${messageId}`)).status).toBe(404);
      }
      for (const count of ["0", "501", "x"]) {
        const res = await setup.herald.api(`/v2/messages?count=${count}`, { method: "DELETE" });
        expect(res.status).toBe(400);
      }
    });
  });

  describe("over-limit bodies", () => {
    it("answers a 2 MiB publish from Node's fetch with the 413 JSON, and keeps serving", async () => {
      const res = await setup.herald.api(`/v2/publish/${setup.sink.url}/too-big`, {
        method: "POST",
        body: new Uint8Array(2 * 1024 * 1024),
      });
      expect(res.status).toBe(413);
      expect(await res.json()).toEqual({ error: expect.stringContaining("too large") });
      // A streamed body (no Content-Length) is read past the limit too, then answered.
      const streamed = await fetch(`${setup.herald.server.url}/v2/publish/${setup.sink.url}/too-big`, {
        method: "POST",
        headers: { Authorization: `Bearer ${setup.herald.server.token}` },
        body: new ReadableStream({
          start(controller) {
            for (let i = 0; i < 40; i++) controller.enqueue(new Uint8Array(64 * 1024));
            controller.close();
          },
        }),
        duplex: "half",
      } as RequestInit);
      expect(streamed.status).toBe(413);
      const after = await setup.herald.client.publish({ url: `${setup.sink.url}/after-too-big`, body: "ok" });
      expect(after.messageId).toMatch(/^msg_/);
      expect(setup.sink.at("/too-big")).toHaveLength(0);
    });
  });
});

describe("the lean message-records mode [aws-local]", () => {
  it("carries an immediate message in its job: not readable before its attempt ends, delivered all the same", async () => {
    const herald = await startHerald({ mode: "aws-local", env: { HERALD_MESSAGE_RECORDS: "lean" } });
    const sink = await Sink.start();
    try {
      const release = holdAnswers(sink, "/lean", 2000);
      const { messageId } = await herald.client.publish({ url: `${sink.url}/lean`, body: "lean" });
      await sink.waitFor("/lean"); // its attempt is in flight
      expect((await herald.api(`/v2/messages/${messageId}`)).status).toBe(404);
      expect((await herald.api(`/v2/messages/${messageId}`, { method: "DELETE" })).status).toBe(404);
      release();
      const delayed = await herald.client.publish({ url: `${sink.url}/lean-delayed`, body: "later", delay: 60 });
      expect((await readMessage(herald, delayed.messageId)).body).toBe("later");
      const logs = await eventually(async () => {
        const entries = await logsOf(herald, `messageId=${messageId}`);
        return entries.some((e) => e.state === "DELIVERED") ? entries : undefined;
      });
      expect(logs.map((e) => e.state)).toEqual(["DELIVERED", "ACTIVE", "CREATED"]);
      await herald.client.messages.cancel(delayed.messageId);
    } finally {
      await herald.close();
      await sink.close();
    }
  });
});
