// The sweep on emulated AWS (issue 6): a queue's lane that holds its messages in DynamoDB (here: a paused
// queue, docs/architecture.md §14) gives its turns by a pump; a resume whose API Lambda dies between
// giving the head its turn and sending its job leaves the lane waiting, the next message behind it. No
// later event on the lane comes; the stack's recurring sweep schedule (here the Scheduler stand-in's, fired
// by runDueSchedules instead of waiting 5 minutes) gives the lost turn again, and both are delivered in
// order, once.
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { DynamoDBClient, GetItemCommand, QueryCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EMULATOR_REGION } from "../../emulation/emulators.ts";
import { recordPageKey } from "../../lambdas/adapters/aws/dynamo-event-log.ts";
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
    credentials: aws.herald.emulators.credentials,
    endpoint: aws.herald.emulators.dynamodbEndpoint,
  });
}, 60_000);
afterAll(async () => {
  dynamo.destroy();
  await aws.close();
});

/** A parallelism-1 queue's only lane (core/queue-lanes.ts). */
const lane = (queue: string): string => `${queue}#0`;

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
      ExpressionAttributeValues: { ":pk": { S: `QE#${lane(queue)}` } },
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
    // The record page that holds the message (dynamo-event-log.ts recordPageKey), else its `#M` item.
    const page = recordPageKey(entry.m?.S as string);
    let key = page ? { PK: { S: page.PK }, SK: { S: page.SK } } : undefined;
    let item = key ? await dynamo.send(new GetItemCommand({ TableName: table, Key: key })) : undefined;
    if (!item?.Item) {
      key = { PK: { S: `M#${entry.m?.S}` }, SK: { S: "#M" } };
      item = await dynamo.send(new GetItemCommand({ TableName: table, Key: key }));
    }
    // The meta is JSON, or deflated JSON (`mz`) where that made the item smaller (dynamo-store.ts).
    const deflated = item.Item?.mz?.B;
    const json = deflated ? inflateRawSync(deflated).toString("utf8") : (item.Item?.meta?.S as string);
    const meta = JSON.parse(json) as { notBefore: number; createdAt: number };
    meta.notBefore -= byMs;
    meta.createdAt -= byMs;
    const shifted = JSON.stringify(meta);
    await dynamo.send(
      new UpdateItemCommand({
        TableName: table,
        Key: key,
        UpdateExpression: deflated ? "SET mz = :meta" : "SET meta = :meta",
        ExpressionAttributeValues: { ":meta": deflated ? { B: deflateRawSync(shifted) } : { S: shifted } },
      }),
    );
    aged++;
  }
  return aged;
}

interface Cut {
  cut: number;
  queue: string;
  /** The dead resume's AWS requests, up to its death. */
  died: string[];
  /**
   * Its head was given its turn and no job was sent: the requests it died after say so (the head read,
   * then the claim's update, no send), or its queue did not heal and shows exactly that state.
   */
  lostTurn: boolean;
}

/** The entries of a queue's lane that were given a turn (un-parked), read without changing anything. */
async function givenTurns(queue: string): Promise<number> {
  const entries = await dynamo.send(
    new QueryCommand({
      TableName: aws.herald.emulators.tableName,
      KeyConditionExpression: "PK = :pk",
      ExpressionAttributeValues: { ":pk": { S: `QE#${lane(queue)}` } },
      ConsistentRead: true,
    }),
  );
  return (entries.Items ?? []).filter((entry) => entry.c?.N !== undefined).length;
}

const lagOf = async (queue: string): Promise<number> =>
  ((await (await api(`/v2/queues/${queue}`)).json()) as { lag: number }).lag;

/** Waits until a queue that healed by itself is done: its second message delivered and no entry left. */
async function healed(queue: string): Promise<void> {
  await sink.waitFor(`/sweep/${queue}/second`, 1, 20_000);
  await eventually(async () => ((await lagOf(queue)) === 0 ? true : undefined), 20_000);
}

const enqueue = async (queue: string, name: string): Promise<void> => {
  const res = await api(`/v2/enqueue/${queue}/${sink.url}/sweep/${queue}/${name}`, { method: "POST", body: name });
  expect(res.status, `enqueue ${name} to ${queue}`).toBeLessThan(300);
  await res.body?.cancel();
};

describe("a resume that died between giving a lane's head its turn and sending its job [aws-local]", () => {
  it("stalls the lane until the sweep gives the turn again; then the stuck message and the next are delivered in order, once", async () => {
    const cuts: Cut[] = [];
    for (let cut = 0; cut < 16; cut++) {
      const queue = `sweep-cut-${cut}`;
      const created = await api("/v2/queues", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ queueName: queue, parallelism: 1, paused: true }),
      });
      expect(created.status).toBe(200);
      // Paused: the message's job, received from its lane in SQS, joins the lane's entries in DynamoDB.
      await enqueue(queue, "first");
      await eventually(async () => ((await lagOf(queue)) === 1 ? true : undefined), 20_000);
      const died = aws.killApiAfter(queue, cut);
      const resumed = await api(`/v2/queues/${queue}/resume`, { method: "POST" });
      aws.disarm(queue);
      await resumed.body?.cancel();
      // A death is reported before the invocation answers: by now `died` has settled, or there was none.
      const requests = await Promise.race([died, Promise.resolve(undefined)]);
      // Every cut was tried once the resume makes fewer requests, or dies only after its answer was made.
      if (!requests || resumed.status < 300) break;
      // The client got no 2xx and resumes again; then the next message is enqueued, behind the first.
      const again = await api(`/v2/queues/${queue}/resume`, { method: "POST" });
      expect(again.status, `resume again after a death after ${cut} request(s)`).toBeLessThan(300);
      await again.body?.cancel();
      await enqueue(queue, "second");
      const head = requests.indexOf("QueryCommand");
      let lostTurn =
        head >= 0 &&
        requests.indexOf("UpdateItemCommand", head) > head &&
        !requests.some((r) => r.startsWith("SendMessage"));
      // Every other cut heals by itself: the second resume pumps the lane. One death at a time: the next
      // cut starts once this queue's deliveries are done. A queue that does not heal is checked for the
      // lost-turn state itself: one turn given, nothing delivered. The sweep must heal it.
      if (!lostTurn) {
        const stuck = await healed(queue).then(
          () => false,
          async (error: Error) => {
            const delivered = sink.received.filter((r) => r.path.startsWith(`/sweep/${queue}/`)).length;
            if (delivered === 0 && (await givenTurns(queue)) === 1) return true;
            throw new Error(`${error.message} (the resume died after [${requests.join(", ")}])`);
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

    // The lost turns still wait, the next messages behind them: by now the queues of every later cut healed
    // and were delivered, so a job the lost turns had would have been delivered too.
    const last = cuts.at(-1) as Cut;
    expect(last.lostTurn, "the last cut heals by itself, after the lost ones").toBe(false);
    for (const { queue } of lost) {
      expect(sink.at(`/sweep/${queue}/first`), queue).toHaveLength(0);
      expect(sink.at(`/sweep/${queue}/second`), queue).toHaveLength(0);
      expect(await ageGivenTurns(queue, 3_600_000), queue).toBe(1);
    }

    // Two sweeps at once (two firings), as the stack's schedule would send them.
    await aws.herald.runDueSchedules(Date.now() + 5 * 60_000);
    await aws.herald.runDueSchedules(Date.now() + 10 * 60_000);
    // A sweep that fails in part throws, and SQS gives it again after the visibility timeout: allow one.
    await Promise.all(
      lost.map(({ queue }) => sink.waitFor(`/sweep/${queue}/second`, 1, VISIBILITY_TIMEOUT_MS + 30_000)),
    );
    for (const { queue } of lost) {
      const order = sink.received.filter((r) => r.path.startsWith(`/sweep/${queue}/`)).map((r) => r.path);
      expect(order, queue).toEqual([`/sweep/${queue}/first`, `/sweep/${queue}/second`]);
    }
    for (const { queue } of cuts) expect(await lagOf(queue), queue).toBe(0);
  }, 240_000);
});
