import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { asWindowJobs, withSendWindow } from "../../../lambdas/adapters/aws/send-window.ts";
import { SqsDispatcher } from "../../../lambdas/adapters/aws/sqs-dispatcher.ts";
import { processDeliveryBatch } from "../../../lambdas/adapters/aws/sqs-delivery.ts";
import { EmulatedScheduler } from "../../../emulation/emulated-scheduler.ts";
import { SqsPoller, type BatchHandler } from "../../../emulation/sqs-poller.ts";
import type { DeliveryJob } from "../../../lambdas/ports.ts";
import { dispatcherFor, uniqueName, useAwsEmulators } from "../../support/aws-emulators.ts";

const emulators = useAwsEmulators();

/** Polls `queueUrl` as the event source mapping would until `count` jobs reached the delivery step. */
async function receiveJobs(
  sqs: SQSClient,
  queueUrl: string,
  dispatcher: SqsDispatcher,
  count: number,
): Promise<DeliveryJob[]> {
  const received: DeliveryJob[] = [];
  const poller = new SqsPoller({
    sqs,
    queueUrl,
    handler: (records) =>
      processDeliveryBatch(records, { dispatcher, deliver: async (job) => void received.push(job), now: Date.now }),
  });
  poller.start();
  try {
    await expect.poll(() => received.length, { timeout: 10_000 }).toBe(count);
  } finally {
    await poller.stop();
  }
  return received;
}

describe("SqsDispatcher", () => {
  it("sends waits over 15 minutes through a one-time schedule that fires early, then finishes the wait in SQS", async () => {
    const { sqs } = await emulators();
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName("long") }));
    const queueUrl = QueueUrl as string;
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
    );
    const scheduler = new EmulatedScheduler(sqs, () => queueUrl);
    const skew = 20 * 60_000;
    const options = {
      sqs,
      queueUrl,
      scheduler,
      scheduleGroup: "herald-schedules",
      queueArn: Attributes?.QueueArn as string,
      schedulerRoleArn: "arn:aws:iam::000000000000:role/herald-scheduler",
      scheduleDeadLetterArn: "arn:aws:sqs:us-east-1:000000000000:herald-poison",
    };
    // The dispatcher's clock runs 20 minutes behind, so a job due in 2 s looks 20 minutes away to it.
    const dispatcher = new SqsDispatcher({ ...options, now: () => Date.now() - skew });
    const dueAt = Date.now() + 2000;
    await dispatcher.dispatch({ messageId: "msg_long", retried: 4 }, dueAt);
    await dispatcher.dispatch({ messageId: "msg_long", retried: 4 }, dueAt); // same job again: one schedule name

    expect(scheduler.created).toHaveLength(2);
    const input = scheduler.created[0];
    expect(input).toMatchObject({
      Name: `msg_long-4-${Math.round(dueAt / 1000)}`,
      GroupName: "herald-schedules",
      ScheduleExpression: `at(${new Date(Math.floor((dueAt - 60_000) / 1000) * 1000).toISOString().slice(0, 19)})`,
      ScheduleExpressionTimezone: "UTC",
      ActionAfterCompletion: "DELETE",
      FlexibleTimeWindow: { Mode: "OFF" },
      Target: {
        Arn: options.queueArn,
        RoleArn: options.schedulerRoleArn,
        DeadLetterConfig: { Arn: options.scheduleDeadLetterArn },
      },
    });
    expect(JSON.parse(input?.Target?.Input ?? "")).toEqual({ m: "msg_long", r: 4, d: dueAt });

    // The schedule fired early (its time is already past); the consumer sends the job on for the rest.
    const delivered: { job: DeliveryJob; at: number }[] = [];
    const realDispatcher = new SqsDispatcher(options);
    const poller = new SqsPoller({
      sqs,
      queueUrl,
      handler: (records) =>
        processDeliveryBatch(records, {
          dispatcher: realDispatcher,
          deliver: async (job) => void delivered.push({ job, at: Date.now() }),
          now: Date.now,
        }),
    });
    poller.start();
    try {
      await expect.poll(() => delivered.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
      expect(delivered[0]?.job).toEqual({ messageId: "msg_long", retried: 4 });
      expect(delivered[0]?.at).toBeGreaterThanOrEqual(dueAt - 1000);
    } finally {
      await poller.stop();
      scheduler.close();
    }
  });

  it("sends the jobs dispatched together in shared SendMessageBatch requests, each carrying its message", async () => {
    const { sqs } = await emulators();
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName("batched") }));
    const queueUrl = QueueUrl as string;
    const sent: string[] = [];
    sqs.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName?.startsWith("Send")) sent.push(context.commandName);
        return next(args);
      },
      { step: "initialize", name: "countSends" },
    );
    const dispatcher = dispatcherFor(sqs, queueUrl);
    const now = Date.now();
    const jobs: DeliveryJob[] = Array.from({ length: 23 }, (_, i) => ({
      messageId: `msg_batched_${i}`,
      retried: 0,
      message: {
        messageId: `msg_batched_${i}`,
        url: "https://example.com/hook",
        method: "POST",
        header: { "Content-Type": ["application/octet-stream"] },
        body: new Uint8Array([i, 0, 255]),
        maxRetries: 3,
        labels: [],
        notBefore: now,
        createdAt: now,
      },
    }));
    await Promise.all(jobs.map((job) => dispatcher.dispatch(job, now)));
    expect(sent).toEqual(["SendMessageBatchCommand", "SendMessageBatchCommand", "SendMessageBatchCommand"]);

    const received = await receiveJobs(sqs, queueUrl, dispatcher, 23);
    received.sort((a, b) => a.messageId.localeCompare(b.messageId, "en", { numeric: true }));
    expect(received).toEqual(jobs);
  });

  it("within a send window, the jobs of a batch share a SendMessageBatch, waiting only while one may still send; without one each goes alone", async () => {
    const { sqs } = await emulators();
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName("window") }));
    const queueUrl = QueueUrl as string;
    const sent: { command: string; entries: number }[] = [];
    sqs.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Entries?: unknown[] };
        if (context.commandName?.startsWith("Send")) {
          sent.push({ command: context.commandName, entries: input.Entries?.length ?? 1 });
        }
        return next(args);
      },
      { step: "initialize", name: "countWindowSends" },
    );
    const dispatcher = dispatcherFor(sqs, queueUrl);
    // As the records of one delivery batch: each job sent in its own turn of the event loop.
    const apart = async (prefix: string, count: number) => {
      const sends: Promise<void>[] = [];
      for (let i = 0; i < count; i++) {
        sends.push(dispatcher.dispatch({ messageId: `msg_${prefix}_${i}`, retried: 0 }, Date.now()));
        await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all(sends);
    };

    await apart("alone", 3);
    expect(sent).toEqual(Array.from({ length: 3 }, () => ({ command: "SendMessageCommand", entries: 1 })));

    // A delivery batch: every record a job of the window, each sending in its own turn. The cap is far
    // longer than the test may run: a send that waited it out would time the test out.
    sent.length = 0;
    const cap = 600_000;
    await withSendWindow(cap, () =>
      Promise.all(
        asWindowJobs(
          Array.from({ length: 13 }, (_, i) => async () => {
            for (let turn = 0; turn < i; turn++) await new Promise((resolve) => setImmediate(resolve));
            await dispatcher.dispatch({ messageId: `msg_window_${i}`, retried: 0 }, Date.now());
          }),
        ),
      ),
    );
    // Ten waiting are sent at once; the other three as soon as every job still running waits on a send.
    expect(sent).toEqual([
      { command: "SendMessageBatchCommand", entries: 10 },
      { command: "SendMessageBatchCommand", entries: 3 },
    ]);

    // A job still busy (its attempt) holds the others' sends until it sends too...
    sent.length = 0;
    let firstSent = false;
    await withSendWindow(cap, () =>
      Promise.all(
        asWindowJobs([
          async () => {
            await dispatcher.dispatch({ messageId: "msg_held_0", retried: 0 }, Date.now());
            firstSent = true;
          },
          async () => {
            // Proof that the first job's send waited: many turns pass, and it is not answered.
            for (let turn = 0; turn < 50; turn++) await new Promise((resolve) => setTimeout(resolve, 1));
            expect(firstSent).toBe(false);
            await dispatcher.dispatch({ messageId: "msg_held_1", retried: 0 }, Date.now());
          },
        ]),
      ),
    );
    expect(sent).toEqual([{ command: "SendMessageBatchCommand", entries: 2 }]);

    // ...or until it ends without sending: then the waiting send goes at once, alone.
    sent.length = 0;
    await withSendWindow(cap, () =>
      Promise.all(
        asWindowJobs([
          () => dispatcher.dispatch({ messageId: "msg_ended_0", retried: 0 }, Date.now()),
          async () => {
            for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setTimeout(resolve, 1));
          },
        ]),
      ),
    );
    expect(sent).toEqual([{ command: "SendMessageCommand", entries: 1 }]);

    // A job's own parallel branches (a URL group's endpoints, stored at once) send one after another: the
    // first makes the job wait on a send, and the others still join it. (Microtasks apart, so that no
    // timer can fire in between on a loaded machine; a synchronous flush would still split them.)
    sent.length = 0;
    await withSendWindow(cap, () =>
      Promise.all(
        asWindowJobs([
          () =>
            Promise.all(
              [0, 1, 2].map(async (i) => {
                for (let step = 0; step < i; step++) await Promise.resolve();
                await dispatcher.dispatch({ messageId: `msg_branch_${i}`, retried: 0 }, Date.now());
              }),
            ),
        ]),
      ),
    );
    expect(sent).toEqual([{ command: "SendMessageBatchCommand", entries: 3 }]);

    // A job busy longer than the cap does not hold the others' sends past it.
    sent.length = 0;
    let busyDone = (): void => undefined;
    const busy = new Promise<void>((resolve) => (busyDone = resolve));
    await withSendWindow(20, () =>
      Promise.all(
        asWindowJobs([
          async () => {
            await dispatcher.dispatch({ messageId: "msg_capped_0", retried: 0 }, Date.now());
            busyDone(); // answered while the other job is still busy
          },
          () => busy,
        ]),
      ),
    );
    expect(sent).toEqual([{ command: "SendMessageCommand", entries: 1 }]);

    const ids = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `msg_${prefix}_${i}`);
    const all = [
      ...ids("alone", 3),
      ...ids("window", 13),
      ...ids("held", 2),
      ...ids("ended", 1),
      ...ids("branch", 3),
      ...ids("capped", 1),
    ];
    const received = await receiveJobs(sqs, queueUrl, dispatcher, all.length);
    expect(received.map((job) => job.messageId).sort()).toEqual(all.sort());
    sqs.middlewareStack.remove("countWindowSends");
  });

  it("carries the mark of a job sent again for a stored message, so its run looks for an earlier attempt", async () => {
    const { sqs } = await emulators();
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName("again") }));
    const queueUrl = QueueUrl as string;
    const dispatcher = dispatcherFor(sqs, queueUrl);
    await dispatcher.dispatch({ messageId: "msg_first_cb0", retried: 0 }, Date.now());
    await dispatcher.dispatch({ messageId: "msg_first_cb0", retried: 0, redelivered: true }, Date.now());
    const received = await receiveJobs(sqs, queueUrl, dispatcher, 2);
    expect(received.map((job) => job.redelivered === true).sort()).toEqual([false, true]);
  });

  // Regression (fuzz): a batch entry's destination with an emoji answered 500 on emulated AWS — SQS refused
  // the job's characters. Real SQS also refuses U+FFFF and lone surrogates.
  it("carries a message whose URL and headers hold characters SQS refuses raw, unchanged", async () => {
    const { sqs } = await emulators();
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName("chars") }));
    const queueUrl = QueueUrl as string;
    const dispatcher = dispatcherFor(sqs, queueUrl);
    const now = Date.now();
    const odd = "😀 \uffff \ufffe \ud800 \udfff \u0000 \u0001 \u007f \t\n";
    const job: DeliveryJob = {
      messageId: "msg_chars",
      retried: 0,
      message: {
        messageId: "msg_chars",
        url: `https://example.com/${odd}`,
        method: "POST",
        header: { [`X-${odd}`]: [odd] },
        body: new Uint8Array([0xff, 0xfe]),
        maxRetries: 0,
        labels: [odd],
        notBefore: now,
        createdAt: now,
      },
    };
    await dispatcher.dispatch(job, now);
    const received = await receiveJobs(sqs, queueUrl, dispatcher, 1);
    expect(received[0]).toEqual(job);
  });

  it("reports records that fail inside Herald as batch item failures and the rest as done", async () => {
    const failures = await processDeliveryBatch(
      [
        { messageId: "a", body: JSON.stringify({ m: "ok", r: 0, d: 0 }) },
        { messageId: "b", body: JSON.stringify({ m: "boom", r: 0, d: 0 }) },
        { messageId: "c", body: "not json" },
      ],
      {
        dispatcher: { dispatch: async () => undefined },
        deliver: async (job) => {
          if (job.messageId === "boom") throw new Error("store unavailable");
        },
        now: Date.now,
      },
    );
    expect(failures).toEqual([{ itemIdentifier: "b" }, { itemIdentifier: "c" }]);
  });
});

/** A standard queue and a FIFO queue (with this visibility timeout, seconds), and a dispatcher on both. */
async function withOrderedQueue(visibilityTimeout?: string) {
  const { sqs } = await emulators();
  const standard = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName("std") }));
  const fifo = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${uniqueName("ordered")}.fifo`,
      Attributes: {
        FifoQueue: "true",
        ...(visibilityTimeout === undefined ? {} : { VisibilityTimeout: visibilityTimeout }),
      },
    }),
  );
  const standardUrl = standard.QueueUrl as string;
  const orderedQueueUrl = fifo.QueueUrl as string;
  const dispatcher = dispatcherFor(sqs, standardUrl, { orderedQueueUrl });
  const send = dispatcher.dispatchOrdered as NonNullable<typeof dispatcher.dispatchOrdered>;
  return { sqs, standardUrl, orderedQueueUrl, dispatcher, send };
}

/** Nothing left in the queue, visible or in flight. */
async function expectEmpty(sqs: SQSClient, queueUrl: string): Promise<void> {
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  expect(attributes.Attributes).toMatchObject({
    ApproximateNumberOfMessages: "0",
    ApproximateNumberOfMessagesNotVisible: "0",
  });
}

/**
 * Polls `queueUrl` one receive at a time (an event source with concurrency 1) until `done`, and answers
 * the size of each batch handled.
 */
async function oneReceiveAtATime(
  sqs: SQSClient,
  queueUrl: string,
  handle: BatchHandler,
  done: () => boolean,
): Promise<number[]> {
  const batchSizes: number[] = [];
  const poller = new SqsPoller({
    sqs,
    queueUrl,
    concurrency: 1,
    handler: (records) => {
      batchSizes.push(records.length);
      return handle(records);
    },
  });
  poller.start();
  try {
    await expect.poll(done, { timeout: 15_000 }).toBe(true);
  } finally {
    await poller.stop();
  }
  return batchSizes;
}

describe("SqsDispatcher on the FIFO queue (dispatchOrdered)", () => {
  it("sends each lane's jobs in order, one in flight per lane; a failure fails the rest of its lane's batch, which SQS gives again in order", async () => {
    const { sqs, orderedQueueUrl, dispatcher, send } = await withOrderedQueue("1");
    // Sent concurrently, as a batch publish's entries would be: one SendMessageBatch per turn, in order.
    await Promise.all(Array.from({ length: 12 }, (_, i) => send({ messageId: `m${i}`, retried: 0 }, `q#${i % 2}`)));
    // Sending a job again (an enqueue retried within five minutes) is one message: same deduplication id.
    await send({ messageId: "m0", retried: 0 }, "q#0");

    const seen: { id: string; ordered: boolean | undefined }[] = [];
    let running = new Map<string, number>();
    let most = 0;
    let failedOnce = false;
    const poller = new SqsPoller({
      sqs,
      queueUrl: orderedQueueUrl,
      concurrency: 4,
      handler: (records) =>
        processDeliveryBatch(records, {
          dispatcher,
          now: Date.now,
          deliver: async (job) => {
            const lane = Number(job.messageId.slice(1)) % 2;
            running = new Map(running).set(String(lane), (running.get(String(lane)) ?? 0) + 1);
            most = Math.max(most, ...running.values());
            await new Promise((resolve) => setTimeout(resolve, 2));
            running.set(String(lane), (running.get(String(lane)) ?? 1) - 1);
            if (job.messageId === "m4" && !failedOnce) {
              failedOnce = true;
              throw new Error("a job that fails inside Herald once");
            }
            seen.push({ id: job.messageId, ordered: job.ordered });
          },
        }),
    });
    poller.start();
    try {
      await expect.poll(() => seen.length, { timeout: 15_000 }).toBe(12);
    } finally {
      await poller.stop();
    }
    const lane = (n: number) => seen.filter((s) => Number(s.id.slice(1)) % 2 === n).map((s) => s.id);
    expect(lane(0)).toEqual(["m0", "m2", "m4", "m6", "m8", "m10"]);
    expect(lane(1)).toEqual(["m1", "m3", "m5", "m7", "m9", "m11"]);
    expect(seen.every((s) => s.ordered === true)).toBe(true);
    expect(most).toBe(1);
  });

  it("keeps the lanes of a queue name of 128 characters within SQS's 128-character message group ids, one group each", async () => {
    const { sqs, orderedQueueUrl, send } = await withOrderedQueue();
    const queue = "q".repeat(128); // the longest queue name Herald takes (RESOURCE_NAME)
    const lanes = [`${queue}#0`, `${queue}#1`, `${queue}#10`, "short#0"];
    for (const [i, lane] of lanes.entries()) {
      await send({ messageId: `m${i}a`, retried: 0 }, lane);
      await send({ messageId: `m${i}b`, retried: 0 }, lane);
    }
    const groups = new Map<string, string>();
    for (let round = 0; round < 10 && groups.size < 2 * lanes.length; round++) {
      const { Messages } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: orderedQueueUrl,
          MaxNumberOfMessages: 10,
          MessageSystemAttributeNames: ["MessageGroupId"],
        }),
      );
      for (const m of Messages ?? []) {
        groups.set(JSON.parse(m.Body as string).m as string, m.Attributes?.MessageGroupId as string);
        await sqs.send(new DeleteMessageCommand({ QueueUrl: orderedQueueUrl, ReceiptHandle: m.ReceiptHandle }));
      }
    }
    expect(groups.size).toBe(2 * lanes.length);
    for (const group of groups.values()) expect(group.length).toBeLessThanOrEqual(128);
    // Both jobs of a lane share its group; every lane has a group of its own; a short lane's is its name.
    for (let i = 0; i < lanes.length; i++) expect(groups.get(`m${i}a`)).toBe(groups.get(`m${i}b`));
    expect(new Set(lanes.map((_, i) => groups.get(`m${i}a`))).size).toBe(lanes.length);
    expect(groups.get("m3a")).toBe("short#0");
  });

  it("runs a flow-control lane's records of one receive side by side, and sends one that failed on through the standard queue", async () => {
    const { sqs, standardUrl, orderedQueueUrl, dispatcher, send } = await withOrderedQueue("600");
    await Promise.all(Array.from({ length: 6 }, (_, i) => send({ messageId: `m${i}`, retried: 0 }, "fc:key#0")));

    const seen: string[] = [];
    const lanes = new Set<string | undefined>();
    let running = 0;
    let most = 0;
    const batchSizes = await oneReceiveAtATime(
      sqs,
      orderedQueueUrl,
      (records) =>
        processDeliveryBatch(records, {
          dispatcher,
          now: Date.now,
          deliver: async (job) => {
            running++;
            most = Math.max(most, running);
            // Each run waits for a second to start, or 2 s at most.
            const deadline = Date.now() + 2_000;
            while (most < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
            running--;
            if (job.messageId === "m1") throw new Error("a job that fails inside Herald");
            lanes.add(job.lane);
            seen.push(job.messageId);
          },
        }),
      () => seen.length === 5,
    );
    expect(batchSizes).toEqual([6]); // one receive gave the whole lane
    expect(most).toBeGreaterThanOrEqual(2); // its records overlapped
    expect(seen.toSorted()).toEqual(["m0", "m2", "m3", "m4", "m5"]);
    expect([...lanes]).toEqual(["fc:key#0"]); // each job knew its lane
    // m1 left the FIFO queue (its lane is not held for a visibility timeout): its job is on the standard queue.
    await expectEmpty(sqs, orderedQueueUrl);
    const passedOn = await receiveJobs(sqs, standardUrl, dispatcher, 1);
    expect(passedOn.map((job) => [job.messageId, job.retried, job.lane])).toEqual([["m1", 0, undefined]]);
  });

  it("hands a lane's records that its invocation has no time left for over in order, and they leave SQS", async () => {
    const { sqs, orderedQueueUrl, dispatcher, send } = await withOrderedQueue("600");
    await Promise.all(Array.from({ length: 9 }, (_, i) => send({ messageId: `m${i}`, retried: 0 }, "q#0")));

    const seen: string[] = [];
    const handed: DeliveryJob[] = [];
    const batchSizes = await oneReceiveAtATime(
      sqs,
      orderedQueueUrl,
      (records) => {
        // Each invocation has time for two attempts: a minute per attempt, 150 s to start with.
        let left = 150_000;
        return processDeliveryBatch(records, {
          dispatcher,
          now: Date.now,
          timeLeft: () => left,
          orderedRecordMs: 60_000,
          handOff: async (job) => void handed.push(job),
          deliver: async (job) => {
            left -= 60_000;
            seen.push(job.messageId);
          },
        });
      },
      () => seen.length + handed.length === 9,
    );
    expect(batchSizes).toEqual([9]); // one receive gave the whole lane, in order
    expect(seen).toEqual(["m0", "m1"]);
    expect(handed.map((j) => [j.messageId, j.ordered])).toEqual(
      Array.from({ length: 7 }, (_, i) => [`m${i + 2}`, true]),
    );
    await expectEmpty(sqs, orderedQueueUrl);
  });
});
