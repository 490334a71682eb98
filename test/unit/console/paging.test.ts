import { describe, expect, it } from "vitest";
import { Pager } from "../../../console/src/paging.ts";

describe("console pager", () => {
  it("follows the API's cursors forward and back", () => {
    const pager = new Pager();
    expect(pager.cursor).toBeUndefined();
    expect(pager.hasNext).toBe(false);
    pager.loaded("c2");
    expect(pager.hasNext).toBe(true);
    expect(pager.hasPrevious).toBe(false);
    pager.next();
    expect([pager.cursor, pager.page, pager.hasPrevious]).toEqual(["c2", 2, true]);
    pager.loaded("c3");
    pager.next();
    expect(pager.cursor).toBe("c3");
    pager.loaded(undefined); // the last page has no cursor
    expect(pager.hasNext).toBe(false);
    pager.next(); // nothing to go to
    expect(pager.page).toBe(3);
    pager.previous();
    expect([pager.cursor, pager.page]).toEqual(["c2", 2]);
    pager.reset();
    expect([pager.cursor, pager.page, pager.hasPrevious]).toEqual([undefined, 1, false]);
  });

  it("treats an empty cursor as the last page", () => {
    const pager = new Pager();
    pager.loaded("");
    expect(pager.hasNext).toBe(false);
  });

  it("forgets pages after the current one when it goes forward again", () => {
    const pager = new Pager();
    pager.loaded("a");
    pager.next();
    pager.loaded("b");
    pager.next();
    pager.previous();
    pager.previous();
    pager.loaded("a2"); // the list changed meanwhile
    pager.next();
    expect(pager.cursor).toBe("a2");
  });
});
