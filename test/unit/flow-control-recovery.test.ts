// Flow-control wait lists must never strand a message: cancelled waiters and crashed holders included.
import { expect, it } from "vitest";
import { acquireFlowSlot, releaseFlowSlot } from "../../lambdas/core/flow-control.ts";
import { deliverMessage } from "../../lambdas/core/deliver.ts";
import { useLocalWithSink } from "../support/local.ts";

const startLocal = useLocalWithSink();
const FLOW = { "Upstash-Flow-Control-Key": "one-at-a-time", "Upstash-Flow-Control-Value": "parallelism=1" };

async function start(clock: { now(): number }) {
  const { herald, sink, api } = await startLocal(clock);
  const publish = async (path: string, headers: Record<string, string>): Promise<string> => {
    const res = await api(`/v2/publish/${sink.url}${path}`, { method: "POST", body: path, headers });
    return ((await res.json()) as { messageId: string }).messageId;
  };
  return { publish, sink, herald };
}

it("wakes the next waiter when the one ahead of it was cancelled", async () => {
  const { publish, sink, herald } = await start({ now: () => Date.now() });
  sink.reply = (request) => ({ status: 200, delayMs: request.path === "/a" ? 800 : 0 });
  await publish("/a", FLOW);
  await sink.waitFor("/a"); // in flight for 800 ms
  const b = await publish("/b", FLOW);
  await publish("/c", FLOW);
  await new Promise((resolve) => setTimeout(resolve, 200)); // both wait in the list
  await fetch(`${herald.url}/v2/messages/${b}`, {
    method: "DELETE",
    headers: { Authorization: `Bearer ${herald.token}` },
  });
  await sink.waitFor("/c", 1, 5_000);
  expect(sink.at("/b")).toHaveLength(0);
});

it("delivers a message whose worker died holding its slot, once that hold goes stale", async () => {
  let offset = 0;
  const { publish, sink, herald } = await start({ now: () => Date.now() + offset });
  const id = await publish("/orphan", { ...FLOW, "Upstash-Delay": "1h" });
  // A worker took the slot for attempt 0 and died; then the job is delivered again.
  expect(await acquireFlowSlot(herald.context, "one-at-a-time", { messageId: id, retried: 0 })).toEqual({
    admitted: true,
  });
  expect(await deliverMessage(herald.context, { messageId: id, retried: 0 })).toBe("waiting");
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(sink.at("/orphan")).toHaveLength(0); // the hold is still live: it might be a duplicate
  offset = (herald.context.config.maxTimeoutSec + 61) * 1000;
  // The job was dispatched again for that time; run it as the job queue would then.
  expect(await deliverMessage(herald.context, { messageId: id, retried: 0 })).toBe("delivered");
  expect(sink.at("/orphan")).toHaveLength(1);
});

it("releases the slot of a worker that died after settling, when its job is delivered again", async () => {
  const { publish, sink, herald } = await start({ now: () => Date.now() });
  const a = await publish("/settled", { ...FLOW, "Upstash-Delay": "1h" });
  const job = { messageId: a, retried: 0 };
  expect(await acquireFlowSlot(herald.context, "one-at-a-time", job)).toEqual({ admitted: true });
  // The attempt succeeded and was recorded; the worker died before releasing the slot.
  await herald.context.store.updateStatus(a, { state: "CREATED", retried: 0 }, { state: "DELIVERED", retried: 0 }, []);
  await publish("/behind", FLOW);
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(sink.at("/behind")).toHaveLength(0); // waits for the slot
  expect(await deliverMessage(herald.context, job)).toBe("skipped"); // the redelivery
  await sink.waitFor("/behind", 1, 5_000);
});

it("wakes the job of the next attempt even before the status records the previous attempt's failure", async () => {
  const { publish, sink, herald } = await start({ now: () => Date.now() });
  const two = { "Upstash-Flow-Control-Key": "two-at-a-time", "Upstash-Flow-Control-Value": "parallelism=2" };
  const m = await publish("/next-attempt", { ...two, "Upstash-Delay": "1h" });
  const x = await publish("/other", { ...two, "Upstash-Delay": "1h" });
  // Attempt 0 of m and x hold both slots; m's attempt 0 failed and sent the job of attempt 1 before
  // recording RETRY (the order deliverMessage uses), and that job has to wait.
  await acquireFlowSlot(herald.context, "two-at-a-time", { messageId: m, retried: 0 });
  await acquireFlowSlot(herald.context, "two-at-a-time", { messageId: x, retried: 0 });
  expect(await deliverMessage(herald.context, { messageId: m, retried: 1 })).toBe("waiting");
  await releaseFlowSlot(herald.context, "two-at-a-time", { messageId: x, retried: 0 });
  const [attempt] = await sink.waitFor("/next-attempt", 1, 5_000);
  expect(attempt?.headers["upstash-retried"]).toBe("1");
});

it("releases the slot of a worker that died holding it, when its message was cancelled meanwhile", async () => {
  const { publish, sink, herald } = await start({ now: () => Date.now() });
  const a = await publish("/cancelled-holder", { ...FLOW, "Upstash-Delay": "1h" });
  const job = { messageId: a, retried: 0 };
  expect(await acquireFlowSlot(herald.context, "one-at-a-time", job)).toEqual({ admitted: true });
  // The worker died holding the slot; then the message is cancelled.
  const res = await fetch(`${herald.url}/v2/messages/${a}`, {
    method: "DELETE",
    headers: { Authorization: `Bearer ${herald.token}` },
  });
  expect(res.status).toBe(200);
  await publish("/behind-cancelled", FLOW);
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(sink.at("/behind-cancelled")).toHaveLength(0); // waits for the slot
  expect(await deliverMessage(herald.context, job)).toBe("canceled"); // the redelivery
  await sink.waitFor("/behind-cancelled", 1, 5_000);
  expect(sink.at("/cancelled-holder")).toHaveLength(0);
});
