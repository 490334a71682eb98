// A cancel that arrives while an attempt is in flight. The store is the real SQLite adapter; only the
// outside world (the destination, the queue, the keys) is played by small port doubles.
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "../../lambdas/adapters/local/sqlite-database.ts";
import { SqliteStore } from "../../lambdas/adapters/local/sqlite-store.ts";
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

function setup(): {
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
  const sent = new Promise<void>((resolve) => (markSent = resolve));
  const ctx: HeraldContext = {
    store: new SqliteStore(db),
    dispatcher: { dispatch: async (job) => void dispatched.push(job) },
    keys: {
      apiTokens: async () => ["t"],
      signingKeys: async () => ({ current: "sig_current", next: "sig_next" }),
      rotateSigningKeys: async () => ({ current: "sig_next", next: "sig_new" }),
    },
    sender: {
      send: () =>
        new Promise<SendOutcome>((resolve) => {
          respond = resolve;
          markSent();
        }),
    },
    clock: { now: () => 1_700_000_000_000 },
    config: DEFAULT_CONFIG,
  };
  return { ctx, dispatched, respond: (o) => respond(o), sent };
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
