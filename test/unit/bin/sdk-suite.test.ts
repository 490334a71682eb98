import { expect, it } from "vitest";
import { parseBunOutput } from "../../../bin/sdk-suite.ts";

// The shape `bun test` 1.4 prints (file headers, one line per test, then a summary repeating failures).
const OUTPUT = `bun test v1.4.5 (a7733435c)

src/receiver.test.ts:
(pass) receiver > verify signed with currentSigningKey [3.94ms]
(pass) receiver > verify signed with nextSigninKey [0.81ms]

src/client/messages.test.ts:
(pass) Messages > should send message, cancel it then verify cancel [12.00ms]
(fail) Messages > should respect count: 1 with all: true [2.42ms]
(pass) Messages > same name [1.00ms]
(pass) Messages > same name [1.00ms]

2 tests failed:
(fail) Messages > should respect count: 1 with all: true [2.42ms]

 5 pass
 1 fail
Ran 6 tests across 2 files. [1.00s]
`;

it("counts each test once per file, failures by name, and not the summary's repeats", () => {
  const files = parseBunOutput(OUTPUT);
  expect(files["src/receiver.test.ts"]).toEqual({ passed: 2, failed: 0, failures: [] });
  expect(files["src/client/messages.test.ts"]).toEqual({
    passed: 3,
    failed: 1,
    failures: ["Messages > should respect count: 1 with all: true"],
  });
  expect(files["src/client/dlq.test.ts"]).toEqual({ passed: 0, failed: 0, failures: [] });
});
