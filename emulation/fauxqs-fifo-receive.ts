// fauxqs gives at most one message of a FIFO message group per ReceiveMessage, and puts messages that
// become visible again at the front of their group one by one (so several of a group come back reversed).
// Amazon SQS does neither: "When you specify a MaxNumberOfMessages parameter in the ReceiveMessage API
// call, SQS returns as many messages with the same message group ID as possible"
// (https://repost.aws/knowledge-center/sqs-fifo-messages-not-returned), and a group's messages are
// delivered in the order they were sent (their sequence numbers,
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-understanding-logic.html).
// The delivery Lambda's FIFO batches of ten depend on both, so emulated AWS (and the bench) patch fauxqs's
// queue class here: a receive takes further messages of the groups it already took from, and a group's
// waiting messages are kept in sequence order. No fauxqs option does this (2.4.1, the newest). Not covered:
// a receive with VisibilityTimeout 0 (its own messages would expire between two passes of one receive);
// Herald's event source stand-in never asks for one.

interface FifoMessage {
  sequenceNumber?: string;
}

interface FauxqsQueue {
  fifoLockedGroups: Map<string, number>;
  fifoMessages: Map<string, FifoMessage[]>;
  dequeueFifo(maxCount: number, visibility?: number, dlqResolver?: unknown): unknown[];
  changeVisibility(receiptHandle: string, timeoutSeconds: number): void;
  processTimers(): void;
}

/** Sequence numbers are decimal strings of up to 20 digits: compare by length, then by digits. */
const bySequence = (a: FifoMessage, b: FifoMessage): number => {
  const x = a.sequenceNumber ?? "";
  const y = b.sequenceNumber ?? "";
  return x.length - y.length || (x < y ? -1 : x > y ? 1 : 0);
};

function inSequence(queue: FauxqsQueue): void {
  for (const messages of queue.fifoMessages.values()) messages.sort(bySequence);
}

let patched = false;

/** Patches fauxqs's SqsQueue (the module app.js loads, so every queue of every server) once per process. */
export async function patchFauxqsFifoReceive(): Promise<void> {
  if (patched) return;
  patched = true;
  // The package exports only its entry; the queue class is in the file beside it that the entry imports.
  const entry = import.meta.resolve("fauxqs");
  const { SqsQueue } = (await import(new URL("./sqs/sqsStore.js", entry).href)) as {
    SqsQueue: { prototype: FauxqsQueue };
  };
  const proto = SqsQueue.prototype;
  const dequeueOne = proto.dequeueFifo;
  proto.dequeueFifo = function (this: FauxqsQueue, maxCount, visibility, dlqResolver) {
    const locks = this.fifoLockedGroups;
    const own = new Map<string, number>(); // the messages this receive took, per group
    /** One pass of fauxqs's receive (a message per unlocked group), over this receive's groups only or any. */
    const pass = (ownOnly: boolean, count: number): unknown[] => {
      // Groups locked only by this receive's own messages may give their next one; groups other receives
      // hold stay locked; with `ownOnly`, every other group is locked for the pass.
      for (const [group, held] of own) {
        const left = (locks.get(group) ?? 0) - held;
        if (left > 0) locks.set(group, left);
        else locks.delete(group);
      }
      const shut = ownOnly ? [...this.fifoMessages.keys()].filter((g) => !own.has(g) && !locks.has(g)) : [];
      for (const group of shut) locks.set(group, 1);
      const before = new Map(locks);
      const more = dequeueOne.call(this, count, visibility, dlqResolver);
      for (const group of shut) locks.delete(group);
      const taken = [...locks].map(([group, n]) => [group, n - (before.get(group) ?? 0)] as const);
      for (const [group, held] of own) locks.set(group, (locks.get(group) ?? 0) + held);
      for (const [group, n] of taken) if (n > 0) own.set(group, (own.get(group) ?? 0) + n);
      return more;
    };
    const wanted = Math.min(10, maxCount);
    const received: unknown[] = [];
    while (received.length < wanted) {
      // As many of the groups it has as there are, then one of another group, and so on.
      let more = own.size > 0 ? pass(true, wanted - received.length) : [];
      if (more.length === 0) more = pass(false, 1);
      if (more.length === 0) break;
      received.push(...more);
    }
    return received;
  };
  for (const name of ["changeVisibility", "processTimers"] as const) {
    const original = proto[name] as (this: FauxqsQueue, ...args: unknown[]) => void;
    (proto as unknown as Record<string, unknown>)[name] = function (this: FauxqsQueue, ...args: unknown[]) {
      original.apply(this, args);
      inSequence(this);
    };
  }
}
