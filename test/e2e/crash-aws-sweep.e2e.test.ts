// The sweep on emulated AWS (issue 6): an enqueue whose API Lambda dies between giving the message its
// queue turn and sending its job leaves the queue waiting, the client's retry behind it. No later event on
// the queue comes; the stack's recurring sweep schedule (here the Scheduler stand-in's, fired by
// runDueSchedules instead of waiting 5 minutes) gives the lost turn again, and both are delivered in order.
import { DynamoDBClient, GetItemCommand, QueryCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EMULATOR_CREDENTIALS, EMULATOR_REGION } from "../../emulation/emulators.ts";
import { startFaultyAws, type FaultyAws } from "../support/aws-faults.ts";
import { eventually } from "../support/herald.ts";
import { Sink } from "../support/sink.ts";

// A visibility timeout well above a delivery's time: a job is not redelivered while it runs. A job or sweep
// that fails comes back only after it, so the waits below that allow one such retry are derived from it.
const VISIBILITY_TIMEOUT_MS = 60_000;

let aws: FaultyAws;
const sink = Sink.forSuite();
let dynamo: DynamoDBClient;

beforeAll(async () => {
  aws = await startFaultyAws({ token: "crash-aws-sweep", visibilityTimeout: `${VISIBILITY_TIMEOUT_MS / 1000}s` });
  dynamo = new DynamoDBClient({
    region: EMULATOR_REGION,
    credentials: EMULATOR_CREDENTIALS,
    endpoint: aws.herald.emulators.dynamodbEndpoint,
  });
}, 60_000);
afterAll(async () => {
  dynamo.destroy();
  await aws.close();
});

const api = (path: string, init: RequestInit = {}): Promise<Response> =>
  fetch(`${aws.herald.url}${path}`, {
    ...init,
    headers: { Authorization: `Bearer ${aws.herald.token}`, ...(init.headers as Record<string, string>) },
    signal: AbortSignal.timeout(30_000),
  });

/**
 * Moves the queue's given turns and their messages an hour into the past, as if the crash had happened
 * then (the Lambdas run on the real clock; a lost turn is presumed lost after the longest attempt plus
 * 15 minutes). Only timestamps change: the state is the one the crash left.
 */
async function ageGivenTurns(queue: string, byMs: number): Promise<number> {
  const table = aws.herald.emulators.tableName;
  const entries = await dynamo.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: "PK = :pk",
      ExpressionAttributeValues: { ":pk": { S: `QE#${queue}` } },
    }),
  );
  let aged = 0;
  for (const entry of entries.Items ?? []) {
    if (entry.c?.N === undefined) continue;
    await dynamo.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { PK: entry.PK as { S: string }, SK: entry.SK as { S: string } },
        UpdateExpression: "SET c = :c",
        ExpressionAttributeValues: { ":c": { N: String(Number(entry.c.N) - byMs) } },
      }),
    );
    const key = { PK: { S: `M#${entry.m?.S}` }, SK: { S: "#M" } };
    const item = await dynamo.send(new GetItemCommand({ TableName: table, Key: key }));
    const meta = JSON.parse(item.Item?.meta?.S as string) as { notBefore: number; createdAt: number };
    meta.notBefore -= byMs;
    meta.createdAt -= byMs;
    await dynamo.send(
      new UpdateItemCommand({
        TableName: table,
        Key: key,
        UpdateExpression: "SET meta = :meta",
        ExpressionAttributeValues: { ":meta": { S: JSON.stringify(meta) } },
      }),
    );
    aged++;
  }
  return aged;
}

interface Cut {
  cut: number;
  queue: string;
  /** The dead enqueue's AWS requests, up to its death. */
  died: string[];
  /**
   * Its turn was given and no job was sent: the requests it died after say so (the head read, then the
   * claim's update, no send), or its queue did not heal and shows exactly that state.
   */
  lostTurn: boolean;
}

/** The entries of a queue that were given a turn (un-parked), read without changing anything. */
async function givenTurns(queue: string): Promise<number> {
  const entries = await dynamo.send(
    new QueryCommand({
      TableName: aws.herald.emulators.tableName,
      KeyConditionExpression: "PK = :pk",
      ExpressionAttributeValues: { ":pk": { S: `QE#${queue}` } },
      ConsistentRead: true,
    }),
  );
  return (entries.Items ?? []).filter((entry) => entry.c?.N !== undefined).length;
}

/**
 * Waits until a queue that healed by itself is done: its retry delivered and no entry left. Its delivery
 * job dispatches the retry's job after the first is delivered, so until then it still sends to SQS; the
 * next cut's death must not overlap it. The Lambdas share one process here, and SqsDispatcher coalesces
 * the sends of one event-loop turn into one SendMessageBatch made in the context of the first sender: a
 * batch begun by an invocation that just died fails for the delivery job that joined it, whose job then
 * waits out the visibility timeout (or, begun by the delivery, the dead enqueue's send gets through).
 */
async function healed(queue: string): Promise<void> {
  await sink.waitFor(`/sweep/${queue}/retry`, 1, 20_000);
  await eventually(async () => {
    const view = (await (await api(`/v2/queues/${queue}`)).json()) as { lag: number };
    return view.lag === 0 ? true : undefined;
  }, 20_000);
}

describe("an enqueue that died between giving a queue turn and sending its job [aws-local]", () => {
  it("stalls its queue until the sweep gives the turn again; then the stuck message and the client's retry are delivered in order, once", async () => {
    const cuts: Cut[] = [];
    for (let cut = 0; cut < 16; cut++) {
      const queue = `sweep-cut-${cut}`;
      const created = await api("/v2/queues", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ queueName: queue, parallelism: 1 }),
      });
      expect(created.status).toBe(200);
      const died = aws.killApiAfter(queue, cut);
      const first = await api(`/v2/enqueue/${queue}/${sink.url}/sweep/${queue}/first`, { method: "POST", body: "1" });
      aws.disarm(queue);
      await first.body?.cancel();
      // A death is reported before the invocation answers: by now `died` has settled, or there was none.
      const requests = await Promise.race([died, Promise.resolve(undefined)]);
      // Every cut was tried once the enqueue makes fewer requests, or dies only after its answer was made.
      if (!requests || first.status < 300) break;
      // The client got no 2xx and enqueues again: a new message, behind the first if that was stored.
      const retry = await api(`/v2/enqueue/${queue}/${sink.url}/sweep/${queue}/retry`, { method: "POST", body: "2" });
      expect(retry.status, `retry after a death after ${cut} request(s)`).toBeLessThan(300);
      await retry.body?.cancel();
      const head = requests.indexOf("QueryCommand");
      let lostTurn =
        head >= 0 && requests.indexOf("UpdateItemCommand", head) > head && !requests.includes("SendMessageCommand");
      // Every other cut heals by itself: the retry's enqueue pumps the queue. One death at a time: the next
      // cut starts once this queue's deliveries are done. The names of the requests a death came after
      // depend on timing here (SqsDispatcher's shared send batches), so a queue that does not heal is
      // checked for the lost-turn state itself: one turn given, nothing delivered. The sweep must heal it.
      if (!lostTurn) {
        const stuck = await healed(queue).then(
          () => false,
          async (error: Error) => {
            const delivered = sink.received.filter((r) => r.path.startsWith(`/sweep/${queue}/`)).length;
            if (delivered === 0 && (await givenTurns(queue)) === 1) return true;
            throw new Error(`${error.message} (the enqueue died after [${requests.join(", ")}])`);
          },
        );
        lostTurn = stuck;
      }
      cuts.push({ cut, queue, died: requests, lostTurn });
    }
    const lost = cuts.filter((c) => c.lostTurn);
    console.log(
      cuts.map((c) => `cut ${c.cut}: died after [${c.died.join(", ")}]${c.lostTurn ? ": lost turn" : ""}`).join("\n"),
    );
    expect(lost.length, "some cut falls between the claim and the job").toBeGreaterThan(0);

    // The lost turns still wait, retries behind them: by now the queues of every later cut, enqueued after
    // them, healed and were delivered, so a job the lost turns had would have been delivered too.
    const last = cuts.at(-1) as Cut;
    expect(last.lostTurn, "the last cut heals by itself, after the lost ones").toBe(false);
    for (const { queue } of lost) {
      expect(sink.at(`/sweep/${queue}/first`), queue).toHaveLength(0);
      expect(sink.at(`/sweep/${queue}/retry`), queue).toHaveLength(0);
      expect(await ageGivenTurns(queue, 3_600_000), queue).toBe(1);
    }

    // Two sweeps at once (two firings), as the stack's schedule would send them.
    await aws.herald.runDueSchedules(Date.now() + 5 * 60_000);
    await aws.herald.runDueSchedules(Date.now() + 10 * 60_000);
    // A sweep that fails in part throws, and SQS gives it again after the visibility timeout: allow one.
    await Promise.all(
      lost.map(({ queue }) => sink.waitFor(`/sweep/${queue}/retry`, 1, VISIBILITY_TIMEOUT_MS + 30_000)),
    );
    for (const { queue } of lost) {
      const order = sink.received.filter((r) => r.path.startsWith(`/sweep/${queue}/`)).map((r) => r.path);
      expect(order, queue).toEqual([`/sweep/${queue}/first`, `/sweep/${queue}/retry`]);
    }
    for (const { queue } of cuts) {
      const view = (await (await api(`/v2/queues/${queue}`)).json()) as { lag: number };
      expect(view.lag, queue).toBe(0);
    }
  }, 180_000);
});
