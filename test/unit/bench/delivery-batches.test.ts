import { describe, expect, it } from "vitest";
import { fullBatches } from "../../../bench/aws-cost/delivery-batches.ts";
import type { QueueDepth } from "../../../bench/aws-cost/harness.ts";

const QUEUE = "http://sqs/000000000000/herald-deliveries";

/** The middleware around a stand-in ReceiveMessage that records when it was sent and with what input. */
function harness(active: () => boolean, depth: () => QueueDepth, onReceive = async () => {}) {
  const sent: { at: number; input: Record<string, unknown> }[] = [];
  const receive = fullBatches(
    active,
    () => QUEUE,
    async () => depth(),
  )(
    async (args) => {
      sent.push({ at: performance.now(), input: { ...args.input } });
      await onReceive();
      return { output: {} };
    },
    { commandName: "ReceiveMessageCommand" },
  );
  return {
    sent,
    receive: (queueUrl = QUEUE) =>
      receive({ input: { QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 } }),
  };
}

describe("fullBatches (the cost bench's steady load)", () => {
  it("waits for a full batch while more jobs can join it, then receives without a long poll", async () => {
    let depth: QueueDepth = { visible: 3, inFlight: 2, delayed: 4 };
    const { sent, receive } = harness(
      () => true,
      () => depth,
    );
    const start = performance.now();
    const receiving = receive();
    setTimeout(() => (depth = { visible: 10, inFlight: 2, delayed: 0 }), 200);
    await receiving;
    expect(sent).toHaveLength(1);
    expect(sent[0]?.at).toBeGreaterThanOrEqual(start + 190); // timers may fire a little early
    expect(sent[0]?.input).toMatchObject({ MaxNumberOfMessages: 10, WaitTimeSeconds: 0 });
  });

  it("receives a partial batch at once when nothing more can join it", async () => {
    const { sent, receive } = harness(
      () => true,
      () => ({ visible: 3, inFlight: 0, delayed: 0 }),
    );
    await receive();
    expect(sent.map((s) => s.input.WaitTimeSeconds)).toEqual([0]);
  });

  it("takes receives one at a time, so two pollers do not split a batch", async () => {
    let depth: QueueDepth = { visible: 0, inFlight: 0, delayed: 10 };
    // A receive takes the visible jobs (they are in flight then), and answers 50 ms later.
    const { sent, receive } = harness(
      () => true,
      () => depth,
      async () => {
        depth = { visible: 0, inFlight: depth.visible, delayed: depth.delayed };
        await new Promise((resolve) => setTimeout(resolve, 50));
      },
    );
    setTimeout(() => (depth = { visible: 10, inFlight: 0, delayed: 0 }), 100);
    await Promise.all([receive(), receive()]);
    expect(sent).toHaveLength(2);
    // The second looked at the queue only after the first's receive was answered: it found it empty.
    expect((sent[1]?.at ?? 0) - (sent[0]?.at ?? 0)).toBeGreaterThanOrEqual(45);
  });

  it("leaves other queues, and everything while inactive (a trickle), as they are", async () => {
    const { sent, receive } = harness(
      () => false,
      () => ({ visible: 1, inFlight: 5, delayed: 5 }),
    );
    await receive();
    const other = harness(
      () => true,
      () => ({ visible: 1, inFlight: 5, delayed: 5 }),
    );
    await other.receive("http://sqs/000000000000/herald-ordered.fifo");
    expect([...sent, ...other.sent].map((s) => s.input.WaitTimeSeconds)).toEqual([1, 1]);
  });
});
