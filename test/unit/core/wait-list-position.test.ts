import { describe, expect, it } from "vitest";
import { nextWaitListPosition } from "../../../lambdas/core/wait-list-position.ts";

describe("nextWaitListPosition", () => {
  it("gives increasing positions in a process, even when the clock stands still or goes back", () => {
    const now = Date.UTC(2026, 11, 5, 8);
    const positions = [now, now, now, now - 5_000, now + 1].map(nextWaitListPosition);
    for (let i = 1; i < positions.length; i++) expect(positions[i]).toBeGreaterThan(positions[i - 1] as number);
  });

  it("places a later millisecond behind an earlier one, and the former counter's entries ahead of both", () => {
    const now = Date.UTC(2027, 0, 1);
    const first = nextWaitListPosition(now);
    const later = nextWaitListPosition(now + 1);
    expect(later).toBeGreaterThan(first);
    expect(first).toBeGreaterThan(1e9); // a counter of a billion waiters on one key is still ahead
  });

  it("fits the entries' 15-digit sort key until 2056, as an exact integer", () => {
    const position = nextWaitListPosition(Date.UTC(2056, 0, 1));
    expect(Number.isSafeInteger(position)).toBe(true);
    expect(String(position).length).toBeLessThanOrEqual(15);
  });
});
