// A queue must never stall for good when a process dies at the wrong moment. These tests put the store
// in the state such a crash leaves behind, then check the queue moves on (real local adapters + sink).
import { expect, it } from "vitest";
import { useLocalWithSink } from "../support/local.ts";

const startLocal = useLocalWithSink();

async function start(clock: { now(): number }) {
  const { herald, sink, api } = await startLocal(clock);
  const enqueue = async (queue: string, path: string): Promise<string> => {
    const res = await api(`/v2/enqueue/${queue}/${sink.url}${path}`, { method: "POST", body: path });
    return ((await res.json()) as { messageId: string }).messageId;
  };
  return { api, enqueue, store: herald.context.store, sink };
}

it("moves on when the run that finished the head died before ending its queue entry", async () => {
  const { api, enqueue, store, sink } = await start({ now: () => Date.now() });
  await api("/v2/queues", { method: "POST", body: '{"queueName":"crashy","parallelism":1,"paused":true}' });
  const first = await enqueue("crashy", "/first");
  // The head's attempt succeeded and was recorded, then the process died: its entry is still there.
  await store.updateStatus(first, { state: "CREATED", retried: 0 }, { state: "DELIVERED", retried: 0 }, []);
  await enqueue("crashy", "/second");
  await api("/v2/queues/crashy/resume", { method: "POST" });
  await sink.waitFor("/second");
  expect(sink.at("/first")).toHaveLength(0); // delivered once already, not again
  const queue = (await (await api("/v2/queues/crashy")).json()) as { lag: number };
  expect(queue.lag).toBe(0);
});

it("gives a turn again when its job was lost between the claim and the dispatch", async () => {
  let offset = 0;
  const { enqueue, store, sink, api } = await start({ now: () => Date.now() + offset });
  await api("/v2/queues", { method: "POST", body: '{"queueName":"lost","parallelism":1,"paused":true}' });
  await enqueue("lost", "/lost-first");
  const [head] = await store.headQueueEntries("lost", 1);
  // The turn was claimed, then the process died before dispatching the job.
  expect(await store.setQueueEntryParked("lost", head?.seq as number, false, Date.now())).toBe(true);
  await api("/v2/queues", { method: "POST", body: '{"queueName":"lost","parallelism":1,"paused":false}' });
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(sink.at("/lost-first")).toHaveLength(0); // not yet presumed lost: it could still be on its way
  offset = 31 * 60_000; // past the longest attempt (15 min locally) and the margin (15 min)
  await enqueue("lost", "/lost-second");
  await sink.waitFor("/lost-first");
  await sink.waitFor("/lost-second");
  expect(sink.received.map((r) => r.path)).toEqual(["/lost-first", "/lost-second"]);
});

it("does not give a turn again to a head that waited long and is in flight now", async () => {
  let offset = 0;
  const { enqueue, sink, api } = await start({ now: () => Date.now() + offset });
  sink.reply = (request) => (request.path === "/slow" ? { status: 200, delayMs: 1500 } : { status: 200 });
  await api("/v2/queues", { method: "POST", body: '{"queueName":"long-wait","parallelism":1,"paused":true}' });
  await enqueue("long-wait", "/slow");
  offset = 40 * 60_000; // it waited 40 minutes for its turn
  await api("/v2/queues/long-wait/resume", { method: "POST" });
  await sink.waitFor("/slow");
  for (let i = 0; i < 3; i++) await enqueue("long-wait", `/after-${i}`); // each pumps the queue
  await sink.waitFor("/after-2", 1, 15_000);
  expect(sink.at("/slow")).toHaveLength(1);
});

it("gives a lost turn again once, however many pumps run while it is in flight", async () => {
  let offset = 0;
  const { enqueue, store, sink, api } = await start({ now: () => Date.now() + offset });
  sink.reply = (request) => (request.path === "/lost-slow" ? { status: 200, delayMs: 1500 } : { status: 200 });
  await api("/v2/queues", { method: "POST", body: '{"queueName":"lost-once","parallelism":2,"paused":true}' });
  await enqueue("lost-once", "/lost-slow");
  const [head] = await store.headQueueEntries("lost-once", 1);
  await store.setQueueEntryParked("lost-once", head?.seq as number, false, Date.now()); // claimed, then a crash
  await api("/v2/queues/lost-once/resume", { method: "POST" });
  offset = 31 * 60_000;
  await Promise.all([0, 1, 2, 3].map((i) => enqueue("lost-once", `/lost-next-${i}`))); // four pumps at once
  await sink.waitFor("/lost-slow");
  await sink.waitFor("/lost-next-3", 1, 15_000);
  await new Promise((resolve) => setTimeout(resolve, 1700));
  expect(sink.at("/lost-slow")).toHaveLength(1);
});
