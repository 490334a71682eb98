import { describe, expect, it } from "vitest";
import { messageIdTime, newApiToken, newJwtId, newMessageId, newSigningKey } from "../../../lambdas/core/ids.ts";

describe("ids", () => {
  it("never repeat, across many refills of the random pool", () => {
    const ids = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      ids.add(newMessageId(1_700_000_000_000));
      ids.add(newJwtId());
    }
    expect(ids.size).toBe(40_000);
  });

  it("have the documented shapes, and message ids start with their creation time", () => {
    const now = 1_764_460_800_123;
    const id = newMessageId(now);
    expect(id).toMatch(/^msg_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(messageIdTime(id)).toBe(now);
    expect(newJwtId()).toMatch(/^jwt_[A-Za-z0-9]{24}$/);
    expect(newSigningKey()).toMatch(/^sig_[A-Za-z0-9]{28}$/);
    expect(newApiToken()).toMatch(/^hrld_[A-Za-z0-9]{40}$/);
  });

  it("use every character of their alphabet (the random tail is not stuck)", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2_000; i++) for (const c of newJwtId().slice(4)) seen.add(c);
    expect(seen.size).toBe(62);
  });
});
