import { describe, expect, it } from "vitest";
import { decodeCursor, encodeCursor, takePage } from "../../../lambdas/core/paging.ts";
import type { Positioned } from "../../../lambdas/ports.ts";
import { expectBadRequest } from "../../support/http-error.ts";

async function* scanOf(values: number[]): AsyncGenerator<Positioned<number>> {
  for (const [i, value] of values.entries()) yield { position: { time: 1000 + i, key: String(i) }, item: value };
}

describe("encodeCursor / decodeCursor", () => {
  it("round-trips time and key", () => {
    expect(encodeCursor({ time: 1_700_000_000_000, key: "42" })).toBe("1700000000000-42");
    expect(decodeCursor("1700000000000-42")).toEqual({ time: 1_700_000_000_000, key: "42" });
    expect(decodeCursor(encodeCursor({ time: 5, key: "msg_ABC.1:x" }))).toEqual({ time: 5, key: "msg_ABC.1:x" });
  });

  it("accepts keys with dashes (DLQ ids look like 1725323658779-0)", () => {
    expect(decodeCursor("12-1725323658779-abc")).toEqual({ time: 12, key: "1725323658779-abc" });
  });

  it("encodes and accepts a bare millisecond cursor", () => {
    expect(encodeCursor({ time: 1_700_000_000_000 })).toBe("1700000000000");
    expect(decodeCursor("1700000000000")).toEqual({ time: 1_700_000_000_000 });
    expect(decodeCursor(" 0 ")).toEqual({ time: 0 });
  });

  it.each(["", "abc", "-1", "12-", "12-a/b", "12.5", "12-a b", `1-${"k".repeat(65)}`, "12345678901234567", "0x10"])(
    "rejects %j with 400",
    (raw) => {
      expectBadRequest(() => decodeCursor(raw), "invalid cursor");
    },
  );
});

describe("takePage", () => {
  const all = () => true;

  it("returns count items and a cursor at the last one when more exist", async () => {
    const page = await takePage(scanOf([10, 11, 12, 13, 14]), all, 2);
    expect(page).toEqual({ items: [10, 11], cursor: "1001-1" });
  });

  it("has no cursor on the last page, even when it is exactly full", async () => {
    expect(await takePage(scanOf([10, 11, 12]), all, 3)).toEqual({ items: [10, 11, 12] });
    expect(await takePage(scanOf([10, 11]), all, 5)).toEqual({ items: [10, 11] });
    expect(await takePage(scanOf([]), all, 5)).toEqual({ items: [] });
  });

  it("skips rejected items, and gives no cursor when only rejected items remain", async () => {
    const even = (n: number) => n % 2 === 0;
    expect(await takePage(scanOf([1, 2, 3, 4, 5, 6]), even, 2)).toEqual({ items: [2, 4], cursor: "1003-3" });
    expect(await takePage(scanOf([1, 2, 3, 4, 5, 7]), even, 2)).toEqual({ items: [2, 4] });
  });

  it("does not read further than one accepted item past the page", async () => {
    let pulled = 0;
    async function* counting(): AsyncGenerator<Positioned<number>> {
      for (let i = 0; i < 100; i++) {
        pulled++;
        yield { position: { time: i }, item: i };
      }
    }
    const page = await takePage(counting(), all, 3);
    expect(page).toEqual({ items: [0, 1, 2], cursor: "2" });
    expect(pulled).toBe(4);
  });

  it("walks a whole scan page by page through the cursor", async () => {
    const values = Array.from({ length: 7 }, (_, i) => i * 10);
    async function* scanAfter(cursor: string | undefined): AsyncGenerator<Positioned<number>> {
      const start = cursor === undefined ? 0 : Number(decodeCursor(cursor).key) + 1;
      for (let i = start; i < values.length; i++)
        yield { position: { time: 1000 + i, key: String(i) }, item: values[i] as number };
    }
    const seen: number[] = [];
    const cursors: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await takePage(scanAfter(cursor), () => true, 3);
      seen.push(...page.items);
      cursor = page.cursor;
      if (cursor) cursors.push(cursor);
    } while (cursor && cursors.length < 10);
    expect(seen).toEqual(values);
    expect(cursors).toEqual(["1002-2", "1005-5"]);
  });
});
