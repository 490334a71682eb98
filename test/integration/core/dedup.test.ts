import { expect, it } from "vitest";
import { planPublish, publish, type PublishResult } from "../../../lambdas/core/publish.ts";
import { upsertEndpoints } from "../../../lambdas/core/url-groups.ts";
import { localContext } from "../../support/local.ts";

let failNextDispatch = false;
const dispatched: string[] = [];
// The real job queue, failing on demand like a throttled SendMessage.
const ctx = localContext((jobs) => ({
  dispatch: async (job, dueAt) => {
    if (failNextDispatch) {
      failNextDispatch = false;
      throw new Error("SQS throttled");
    }
    await jobs.dispatch(job, dueAt);
    dispatched.push(job.messageId);
  },
}));
const clock = ctx.clock;

const request = (id: string) => ({
  destination: "https://example.com/dedup",
  rawQuery: "",
  headers: { "upstash-deduplication-id": id },
  body: new TextEncoder().encode("x"),
});

it("leaves the claim abandoned when accepting fails, so the client's retry finishes the publish under its ids", async () => {
  failNextDispatch = true;
  await expect(publish(ctx, request("retry-me"))).rejects.toThrow("SQS throttled");
  const retried = await publish(ctx, request("retry-me"));
  // The failed publish had stored its message: the retry sends it, and answers its id.
  expect(retried.status).toBe(202);
  const { messageId } = retried.body as PublishResult;
  expect(dispatched).toContain(messageId);
  const duplicate = await publish(ctx, request("retry-me"));
  expect(duplicate).toEqual({ status: 202, body: { ...(retried.body as PublishResult), deduplicated: true } });
});

it("sends a URL group's message once per endpoint when a publish that failed midway is retried", async () => {
  await upsertEndpoints(ctx, "dedup-group", {
    endpoints: [{ url: "https://example.com/e1" }, { url: "https://example.com/e2" }],
  });
  const groupRequest = { ...request("group-once"), destination: "dedup-group" };
  const before = dispatched.length;
  let calls = 0;
  const dispatch = ctx.dispatcher.dispatch.bind(ctx.dispatcher);
  ctx.dispatcher.dispatch = async (job, dueAt) => {
    if (++calls === 2) throw new Error("SQS throttled"); // e1's message goes out, e2's does not
    return dispatch(job, dueAt);
  };
  try {
    await expect(publish(ctx, groupRequest)).rejects.toThrow("SQS throttled");
  } finally {
    ctx.dispatcher.dispatch = dispatch;
  }
  const retried = await publish(ctx, groupRequest);
  const ids = (retried.body as PublishResult[]).map((r) => r.messageId);
  expect(ids).toHaveLength(2);
  // Every message sent is one of the two the retry answers: e1 got no second message.
  expect(new Set(dispatched.slice(before))).toEqual(new Set(ids));
});

it("takes over a claim left pending by a publish that died, once no publish could still be running", async () => {
  const now = clock.now();
  const stale = JSON.stringify({ results: [{ messageId: "msg_never_stored", url: "x" }], pendingSince: now - 31_000 });
  await ctx.store.claimDedup("id:died", stale, now, now + 600_000);
  const result = await publish(ctx, request("died"));
  expect(result.status).toBe(200);
  expect((result.body as PublishResult).messageId).not.toBe("msg_never_stored");

  const young = JSON.stringify({ results: [{ messageId: "msg_in_progress", url: "x" }], pendingSince: now });
  await ctx.store.claimDedup("id:racing", young, now, now + 600_000);
  const racing = await publish(ctx, request("racing")); // a concurrent duplicate of a live publish
  expect(racing).toEqual({ status: 202, body: { messageId: "msg_in_progress", url: "x", deduplicated: true } });
});

it("takes over an abandoned claim that expires by the time it looks, and reads claims in the old format", async () => {
  const now = clock.now();
  const stale = JSON.stringify({ results: [{ messageId: "msg_gone", url: "x" }], pendingSince: now - 60_000 });
  await ctx.store.claimDedup("id:expired", stale, now - 600_000, now); // its window has just ended
  const result = await publish(ctx, request("expired"));
  expect(result.status).toBe(200);

  await ctx.store.claimDedup("id:old", JSON.stringify([{ messageId: "msg_old", url: "x" }]), now, now + 600_000);
  expect(await publish(ctx, request("old"))).toEqual({
    status: 202,
    body: { messageId: "msg_old", url: "x", deduplicated: true },
  });
});

it("treats an abandoned claim whose messages were stored as a plain duplicate", async () => {
  const first = await publish(ctx, { ...request("stored"), headers: {} });
  const id = (first.body as PublishResult).messageId;
  const now = clock.now();
  const stuck = JSON.stringify({ results: [{ messageId: id, url: "x" }], pendingSince: now - 60_000 });
  await ctx.store.claimDedup("id:stored", stuck, now, now + 600_000);
  expect(await publish(ctx, request("stored"))).toEqual({
    status: 202,
    body: { messageId: id, url: "x", deduplicated: true },
  });
});

it("makes a duplicate wait for a publish in progress: it goes on if that one fails, and is a duplicate if it stores", async () => {
  // The duplicate's clock tells when it starts waiting (its first sleep): then the claim it waits on changes.
  let startedWaiting = (): void => undefined;
  const waits = (): Promise<void> => new Promise((resolve) => (startedWaiting = resolve));
  const waiting = {
    ...ctx,
    clock: {
      now: () => Date.now(),
      sleep: (ms: number) => {
        startedWaiting();
        return new Promise<void>((r) => setTimeout(r, ms));
      },
    },
  };
  const now = Date.now();
  const inProgress = JSON.stringify({ results: [{ messageId: "msg_failing", url: "x" }], pendingSince: now });
  await ctx.store.claimDedup("id:fails", inProgress, now, now + 600_000);
  let waited = waits();
  const duplicate = publish(waiting, request("fails"));
  await waited;
  // The first publish failed and left its claim abandoned (none of its messages stored).
  const abandoned = JSON.stringify({ results: [{ messageId: "msg_failing", url: "x" }], pendingSince: 0 });
  await ctx.store.claimDedup("id:fails", abandoned, now, now + 600_000, inProgress);
  const result = await duplicate;
  expect(result.status).toBe(200);
  expect((result.body as PublishResult).messageId).not.toBe("msg_failing");

  const storing = JSON.stringify({ results: [{ messageId: "msg_stored", url: "x" }], pendingSince: now });
  await ctx.store.claimDedup("id:stores", storing, now, now + 600_000);
  waited = waits();
  const second = publish(waiting, request("stores"));
  await waited;
  const done = JSON.stringify({ results: [{ messageId: "msg_stored", url: "x" }] });
  await ctx.store.claimDedup("id:stores", done, Date.now(), Date.now() + 600_000, storing);
  expect(await second).toEqual({ status: 202, body: { messageId: "msg_stored", url: "x", deduplicated: true } });
});

it("finishes a publish that died after storing its message, before its job: the client's retry dispatches it", async () => {
  // What the dead publish left (on AWS: the message and status items written, SendMessage never sent).
  const now = clock.now();
  const [message] = (await planPublish(ctx, request("half-done"), now - 40_000)).messages;
  if (!message) throw new Error("no message planned");
  await ctx.store.createMessage(message, { state: "CREATED", retried: 0 }, []);
  const results = [{ messageId: message.messageId, url: message.url }];
  await ctx.store.claimDedup(
    "id:half-done",
    JSON.stringify({ results, pendingSince: now - 40_000 }),
    now,
    now + 600_000,
  );

  const retry = await publish(ctx, request("half-done"));
  expect(retry).toEqual({ status: 202, body: { ...results[0], deduplicated: true } });
  expect(dispatched).toContain(message.messageId);
  expect(await publish(ctx, request("half-done"))).toEqual(retry); // and it is settled now

  // Died before storing anything: the retry stores it under the id the dead publish had claimed.
  const [unstored] = (await planPublish(ctx, request("claim-only"), now - 40_000)).messages;
  const claimed = [{ messageId: unstored?.messageId as string, url: unstored?.url as string }];
  await ctx.store.claimDedup(
    "id:claim-only",
    JSON.stringify({ results: claimed, pendingSince: now - 40_000 }),
    now,
    now + 600_000,
  );
  expect(await publish(ctx, request("claim-only"))).toEqual({ status: 200, body: claimed[0] });
  expect((await ctx.store.getMessage(claimed[0]?.messageId as string))?.status.state).toBe("CREATED");
  expect(dispatched).toContain(claimed[0]?.messageId);
});
