import { describe, expect, it } from "vitest";
import {
  bodyForDisplay,
  decodeBase64Text,
  loggedBodyForDisplay,
  LOGGED_RESPONSE_BYTES,
  formatSeconds,
  formatTime,
  headerLines,
  truncate,
} from "../../../console/src/format.ts";

describe("console formatting", () => {
  it("shows a time in the viewer's zone with UTC for the tooltip", () => {
    const ms = Date.UTC(2026, 11, 2, 18, 5, 9);
    const time = formatTime(ms, "en-US", "America/New_York");
    expect(time.local).toBe("Dec 2, 2026, 1:05:09 PM");
    expect(time.utc).toBe("Dec 2, 2026, 6:05:09 PM UTC");
    expect(time.iso).toBe("2026-12-02T18:05:09.000Z");
  });

  it("writes seconds as days, hours, minutes and seconds", () => {
    expect(formatSeconds(0)).toBe("0s");
    expect(formatSeconds(59)).toBe("59s");
    expect(formatSeconds(3_600)).toBe("1h");
    expect(formatSeconds(90_061)).toBe("1d 1h 1m 1s");
  });

  it("decodes UTF-8 bodies from base64 and sizes binary ones", () => {
    expect(decodeBase64Text(Buffer.from("héllo").toString("base64"))).toBe("héllo");
    expect(decodeBase64Text("not base64!")).toBeUndefined();
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x81]).toString("base64");
    expect(decodeBase64Text(binary)).toBeUndefined();
    expect(bodyForDisplay(undefined, binary)).toBe("(binary, 4 bytes)");
    expect(bodyForDisplay("text wins", binary)).toBe("text wins");
    expect(bodyForDisplay(undefined, undefined)).toBe("");
  });

  it("reads a logged response body cut inside its last character as text, and says where the log cut it", () => {
    const euros = Buffer.from("€".repeat(3000)); // 9000 bytes; AWS logs keep the first 8192, mid-character
    const logged = euros.subarray(0, LOGGED_RESPONSE_BYTES).toString("base64");
    expect(loggedBodyForDisplay(logged)).toBe(`${"€".repeat(2730)}\n… (the log keeps the first 8 KiB only)`);
    expect(loggedBodyForDisplay(Buffer.from("short €").toString("base64"))).toBe("short €");
    // A byte that is not UTF-8 before the end is binary, whatever the length.
    expect(loggedBodyForDisplay(Buffer.from([0x41, 0xff, 0x42]).toString("base64"))).toBe("(binary, 3 bytes)");
  });

  it("lists headers as sorted Name: value lines, one per value", () => {
    expect(headerLines({ "X-B": ["2", "3"], "Content-Type": ["application/json"], "X-A": "1" })).toEqual([
      "Content-Type: application/json",
      "X-A: 1",
      "X-B: 2",
      "X-B: 3",
    ]);
    expect(headerLines(undefined)).toEqual([]);
  });

  it("cuts long cell text with an ellipsis", () => {
    expect(truncate("short", 10)).toBe("short");
    expect(truncate("0123456789abc", 10)).toBe("012345678…");
  });
});
