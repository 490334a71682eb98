// The cost bench bills a DynamoDB read that finds nothing as DynamoDB does (DynamoDB Local reports 0).
import { expect, it } from "vitest";
import { minimumReadUnits } from "../../../bench/aws-cost/sdk-counting.ts";

it("bills a read at least one 4 KB unit per item or query asked for, halved when eventually consistent", () => {
  expect(minimumReadUnits("GetItem", { ConsistentRead: true })).toBe(1);
  expect(minimumReadUnits("GetItem", {})).toBe(0.5);
  expect(minimumReadUnits("Query", { ConsistentRead: true })).toBe(1);
  expect(minimumReadUnits("Query", { IndexName: "lists" })).toBe(0.5);
  expect(
    minimumReadUnits("BatchGetItem", {
      RequestItems: { t: { Keys: [{}, {}, {}] }, u: { Keys: [{}], ConsistentRead: true } },
    }),
  ).toBe(2.5);
  expect(minimumReadUnits("PutItem", {})).toBe(0);
});
