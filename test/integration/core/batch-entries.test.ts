// A batch against the real local adapters: what its entries count for, and what a refused one leaves
// behind (nothing: docs/qstash-api.md §9, "validated first").
import { describe, expect, it } from "vitest";
import { publishBatch } from "../../../lambdas/core/batch.ts";
import { ANY_DESTINATION } from "../../../lambdas/core/destination-policy.ts";
import { HttpError } from "../../../lambdas/core/errors.ts";
import { publish } from "../../../lambdas/core/publish.ts";
import type { HeraldContext } from "../../../lambdas/core/context.ts";
import { endRun } from "../../../lambdas/core/workflow.ts";
import { findUrlGroup, removeEndpoints, upsertEndpoints } from "../../../lambdas/core/url-groups.ts";
import { deliveredTo, withHarness } from "../../support/core-harness.ts";
import { localContext } from "../../support/local.ts";
import { openSqlite } from "../../support/sqlite-fixture.ts";

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

const step = (runId: string): Record<string, unknown> => ({
  destination: "https://example.com/wf",
  body: "step",
  headers: { "upstash-workflow-runid": runId },
});

async function startRun(ctx: HeraldContext, runId: string): Promise<void> {
  await publish(ctx, {
    destination: "https://example.com/wf",
    rawQuery: "",
    headers: { "upstash-workflow-runid": runId, "upstash-workflow-init": "true" },
    body: encode("init"),
  });
}

describe("a batch's entries", () => {
  it("count a URL group entry's body once against the batch's bodies, as a single publish to it does", async () => {
    const base = localContext();
    const ctx = { ...base, config: { ...base.config, maxBodyBytes: 1000 } };
    await upsertEndpoints(ctx, "eleven", {
      endpoints: Array.from({ length: 11 }, (_, i) => ({ url: `https://example.com/e${i}` })),
    });
    const body = "x".repeat(1000); // the message body limit; 11 endpoints make 11 000 bytes of messages
    expect((await publish(ctx, { destination: "eleven", rawQuery: "", headers: {}, body: encode(body) })).status).toBe(
      200,
    );
    const results = await publishBatch(ctx, encode(JSON.stringify([{ destination: "eleven", body }])), undefined);
    expect(results[0]).toHaveLength(11);
    // Eleven such entries are more than 10 × the body limit: refused.
    const tooMany = Array.from({ length: 11 }, () => ({ destination: "eleven", body }));
    const error = await publishBatch(ctx, encode(JSON.stringify(tooMany)), undefined).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 413, message: expect.stringMatching(/^batch entry 10: batch too large/) });
  });

  it("refused by a later entry's run leaves an earlier entry's run log as it was", async () => {
    const ctx = localContext();
    await publish(ctx, {
      destination: "https://example.com/wf",
      rawQuery: "",
      headers: { "upstash-workflow-runid": "wfr_going", "upstash-workflow-init": "true" },
      body: encode("init"),
    });
    const before = await ctx.store.listSteps("wfr_going");
    expect(before).toHaveLength(1);
    const batch = JSON.stringify([
      { destination: "https://example.com/wf", body: "step", headers: { "upstash-workflow-runid": "wfr_going" } },
      { destination: "https://example.com/wf", body: "step", headers: { "upstash-workflow-runid": "wfr_missing" } },
    ]);
    const error = await publishBatch(ctx, encode(batch), undefined).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({ status: 400, message: "batch entry 1: workflow run wfr_missing does not exist" });
    expect(await ctx.store.listSteps("wfr_going")).toEqual(before);
  });

  it("refused by a later entry's invoked trigger without its envelope leaves an earlier entry's run log as it was", async () => {
    const ctx = localContext();
    await startRun(ctx, "wfr_before_invoke");
    const before = await ctx.store.listSteps("wfr_before_invoke");
    const batch = JSON.stringify([
      step("wfr_before_invoke"),
      {
        destination: "https://example.com/invoked",
        body: "not json",
        headers: {
          "upstash-workflow-runid": "wfr_invoked",
          "upstash-workflow-init": "true",
          "upstash-workflow-invoke": "true",
        },
      },
    ]);
    const error = await publishBatch(ctx, encode(batch), undefined).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400, message: expect.stringMatching(/^batch entry 1: an invoked workflow/) });
    expect(await ctx.store.listSteps("wfr_before_invoke")).toEqual(before);
  });

  it("refuses the step of a run that ended while the batch linked the entries before it", async () => {
    const ctx = localContext();
    await startRun(ctx, "wfr_first");
    await startRun(ctx, "wfr_ending");
    // Another request ends the second run while this batch appends the first run's step.
    const append = ctx.store.appendStep.bind(ctx.store);
    ctx.store.appendStep = async (runId, appended) => {
      if (runId === "wfr_first") await endRun(ctx, "wfr_ending", "RUN_CANCELED");
      return append(runId, appended);
    };
    const batch = JSON.stringify([step("wfr_first"), step("wfr_ending")]);
    const error = await publishBatch(ctx, encode(batch), undefined).catch((e: unknown) => e);
    expect(error).toMatchObject({
      status: 400,
      message: "batch entry 1: workflow run wfr_ending already finished (canceled)",
    });
    expect(await ctx.store.listSteps("wfr_ending")).toHaveLength(1);
  });

  for (const queue of [undefined, "wf-queue"]) {
    it(
      `start a workflow run once when its trigger is batched twice ${queue ? "into a queue" : ""}`,
      withHarness(openSqlite, { config: { destinations: ANY_DESTINATION } }, async (h) => {
        const trigger = encode(
          JSON.stringify([
            {
              destination: "https://receiver.example/wf",
              body: "payload",
              headers: { "upstash-workflow-runid": `wfr_${queue ?? "plain"}`, "upstash-workflow-init": "true" },
              ...(queue ? { queue } : {}),
            },
          ]),
        );
        const first = await h.invoke(() => publishBatch(h.ctx, trigger, undefined));
        // Sent again while the first still waits for its delivery.
        const second = await h.invoke(() => publishBatch(h.ctx, trigger, undefined));
        expect(second[0]).toEqual({ ...(first[0] as object), deduplicated: true });
        await h.drain();
        expect(deliveredTo(h, "/wf")).toHaveLength(1);
      }),
    );
  }
});

describe("a URL group", () => {
  it("removed with its last endpoint and added to again is created anew", async () => {
    let now = 1_760_000_000_000;
    const ctx = { ...localContext(), clock: { now: () => now } };
    await upsertEndpoints(ctx, "again", { endpoints: [{ url: "https://example.com/a" }] });
    await removeEndpoints(ctx, "again", { endpoints: [{ url: "https://example.com/a" }] });
    now += 60_000;
    await upsertEndpoints(ctx, "again", { endpoints: [{ url: "https://example.com/b" }] });
    expect(await findUrlGroup(ctx, "again")).toMatchObject({ createdAt: now, updatedAt: now });
    now += 60_000;
    await upsertEndpoints(ctx, "again", { endpoints: [{ url: "https://example.com/c" }] });
    expect(await findUrlGroup(ctx, "again")).toMatchObject({ createdAt: now - 60_000, updatedAt: now });
  });
});
