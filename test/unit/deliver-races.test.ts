// Races around one attempt: a cancel while it is in flight, the previous attempt's record landing late,
// a dispatch that failed. The store is the real SQLite adapter; only the outside world (the destination,
// the queue, the keys) is played by small port doubles.
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "../../lambdas/adapters/embedded/sqlite-schema.ts";
import { SqliteStore } from "../../lambdas/adapters/embedded/sqlite-store.ts";
import { TimerCronTrigger } from "../../lambdas/adapters/embedded/timer-cron-trigger.ts";
import { acceptMessage } from "../../lambdas/core/accept.ts";
import { cancelMessage } from "../../lambdas/core/cancel.ts";
import { DEFAULT_CONFIG } from "../../lambdas/core/config.ts";
import type { HeraldContext } from "../../lambdas/core/context.ts";
import { deliverMessage } from "../../lambdas/core/deliver.ts";
import type { DeliveryJob, SendOutcome } from "../../lambdas/ports.ts";
import { tempDir } from "../support/herald.ts";
import { makeMessage } from "./message-fixture.ts";

const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((close) => close()));

function setup(options: { failDispatchOf?: string } = {}): {
  ctx: HeraldContext;
  dispatched: DeliveryJob[];
  respond: (outcome: SendOutcome) => void;
  sent: Promise<void>;
} {
  const db = openDatabase(tempDir());
  closers.push(() => db.close());
  const dispatched: DeliveryJob[] = [];
  let respond: (outcome: SendOutcome) => void = () => undefined;
  let markSent: () => void = () => undefined;
  let sent = new Promise<void>((resolve) => (markSent = resolve));
  const ctx: HeraldContext = {
    store: new SqliteStore(db),
    dispatcher: {
      dispatch: async (job) => {
        if (job.messageId === options.failDispatchOf) {
          options.failDispatchOf = undefined; // fails once, like a throttled SendMessage
          throw new Error("SQS throttled");
        }
        dispatched.push(job);
      },
    },
    cron: new TimerCronTrigger({ now: () => Date.now() }),
    keys: {
      apiTokens: async () => [{ value: "t", access: "write" }],
      signingKeys: async () => ({ current: "sig_current", next: "sig_next" }),
      rotateSigningKeys: async () => ({ current: "sig_next", next: "sig_new" }),
    },
    sender: {
      send: () =>
        new Promise<SendOutcome>((resolve) => {
          respond = resolve;
          markSent();
          sent = new Promise<void>((next) => (markSent = next)); // the next send
        }),
    },
    clock: { now: () => 1_700_000_000_000 },
    config: DEFAULT_CONFIG,
  };
  return {
    ctx,
    dispatched,
    respond: (o) => respond(o),
    get sent() {
      return sent;
    },
  };
}

const failure: SendOutcome = { kind: "response", status: 500, header: {}, body: new Uint8Array() };
const success: SendOutcome = { kind: "response", status: 200, header: {}, body: new Uint8Array() };

async function run(maxRetries: number, outcome: SendOutcome) {
  const s = setup();
  const message = makeMessage({ maxRetries, createdAt: 1_700_000_000_000, notBefore: 1_700_000_000_000 });
  await acceptMessage(s.ctx, message);
  const attempt = deliverMessage(s.ctx, { messageId: message.messageId, retried: 0 });
  await s.sent;
  expect(await cancelMessage(s.ctx, message.messageId)).toEqual({ cancelled: 1 });
  s.respond(outcome);
  const result = await attempt;
  const stored = await s.ctx.store.getMessage(message.messageId);
  const dlq = await s.ctx.store.getDlq(`${message.createdAt}-${message.messageId.slice(-8)}`);
  return { result, state: stored?.status.state, dlq, s, message };
}

describe("cancel while an attempt is in flight", () => {
  it("ends CANCELED instead of retrying when the attempt fails with retries left", async () => {
    const { state, dlq, s, message } = await run(3, failure);
    expect(state).toBe("CANCELED");
    expect(dlq).toBeUndefined();
    // The next attempt had been queued before the outcome was recorded; it finds the message cancelled.
    expect(await deliverMessage(s.ctx, { messageId: message.messageId, retried: 1 })).toBe("skipped");
  });

  it("ends FAILED with its DLQ entry when it was the last attempt (too late to cancel)", async () => {
    const { state, dlq } = await run(0, failure);
    expect(state).toBe("FAILED");
    expect(dlq?.response?.status).toBe(500);
  });

  it("ends DELIVERED when the attempt succeeds (too late to cancel)", async () => {
    const { state, result } = await run(3, success);
    expect(result).toBe("delivered");
    expect(state).toBe("DELIVERED");
  });
});

describe("an attempt whose predecessor's RETRY record lands late", () => {
  it("applies its outcome on top of it instead of leaving the message in RETRY", async () => {
    const s = setup();
    const message = makeMessage({ maxRetries: 3 });
    await acceptMessage(s.ctx, message);
    // Attempt 0 failed and dispatched job 1, but its status write has not landed yet.
    const attempt = deliverMessage(s.ctx, { messageId: message.messageId, retried: 1 });
    await s.sent;
    await s.ctx.store.updateStatus(
      message.messageId,
      { state: "CREATED", retried: 0 },
      { state: "RETRY", retried: 1 },
      [],
    );
    s.respond(success);
    expect(await attempt).toBe("delivered");
    expect((await s.ctx.store.getMessage(message.messageId))?.status).toEqual({ state: "DELIVERED", retried: 1 });
  });
});

describe("a callback whose dispatch failed", () => {
  it("is dispatched when the attempt runs again", async () => {
    const message = makeMessage({ maxRetries: 0, callback: { url: "https://example.com/cb", header: {} } });
    const s = setup({ failDispatchOf: `${message.messageId}_cb0` });
    await acceptMessage(s.ctx, message);
    const first = deliverMessage(s.ctx, { messageId: message.messageId, retried: 0 });
    await s.sent;
    s.respond(success);
    await expect(first).rejects.toThrow(/throttled/);
    expect(s.dispatched.map((j) => j.messageId)).not.toContain(`${message.messageId}_cb0`);

    // The job is redelivered (SQS / the job table keep it): the attempt runs again and the callback goes out.
    const again = deliverMessage(s.ctx, { messageId: message.messageId, retried: 0 });
    await s.sent;
    s.respond(success);
    expect(await again).toBe("delivered");
    expect(s.dispatched.map((j) => j.messageId)).toContain(`${message.messageId}_cb0`);
  });
});
