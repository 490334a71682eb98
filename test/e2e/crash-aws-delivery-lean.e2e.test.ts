// Crash safety of the delivery Lambda with the lean opt-in (`messageRecords: "lean"`, README "Message
// records on AWS"): an immediate message travels inside its SQS job and nothing is stored for it before its
// first attempt ends, so a batch given again after its invocation threw partway is all there is to deliver
// it again. Its own file: one emulated AWS per process (crash-aws-delivery.e2e.test.ts runs the default).
import { afterAll, beforeAll, describe, it } from "vitest";
import { startFaultyAws, type FaultyAws } from "../support/aws-faults.ts";
import { deliversThroughThrows } from "../support/mid-batch-throws.ts";
import { Sink } from "../support/sink.ts";

let aws: FaultyAws;
const sink = Sink.forSuite();

beforeAll(async () => {
  aws = await startFaultyAws({ token: "crash-aws-delivery-lean", visibilityTimeout: "2s", messageRecords: "lean" });
}, 60_000);
afterAll(async () => {
  await aws.close();
});

describe("the delivery handler throws mid-batch, messageRecords lean [aws-local]", () => {
  it("delivers every accepted message, carried in their jobs and stored, after SQS redelivers the failed batches", async () => {
    await deliversThroughThrows(aws, sink, "aws throw lean");
  }, 90_000);
});
