// The Keys contract: one spec, run against every platform's keys (SQLite for npm start, a Secrets Manager
// secret on AWS). test/contract/keys.contract.test.ts runs it. What is asserted is what a user sees: the
// tokens that call the API, and the signing keys receivers verify with.
import { describe, expect, it } from "vitest";
import type { Keys } from "../../lambdas/ports.ts";

export interface KeysFixture {
  keys: Keys;
  /** The deployment's token the platform was given (HERALD_TOKEN / the stack's generated token). */
  token: string;
  /** Another instance over the same kept keys: a restart, or another container. */
  reopen(): Keys;
  close(): Promise<void>;
}

export function keysContract(name: string, open: () => Promise<KeysFixture>): void {
  describe(`Keys contract: ${name}`, () => {
    const withKeys = (test: (fixture: KeysFixture) => Promise<void>) => async () => {
      const fixture = await open();
      try {
        await test(fixture);
      } finally {
        await fixture.close();
      }
    };

    it(
      "grants the deployment's token write access and a generated read-only token read access, the same on every read",
      withKeys(async ({ keys, token, reopen }) => {
        const tokens = await keys.apiTokens();
        expect(tokens).toEqual([
          { value: token, access: "write" },
          { value: expect.stringMatching(/^hrld_/), access: "read" },
        ]);
        expect(await keys.apiTokens()).toEqual(tokens);
        expect(await reopen().apiTokens()).toEqual(tokens);
      }),
    );

    it(
      "generates the signing keys once: every instance over the same keys signs with the same pair",
      withKeys(async ({ keys, reopen }) => {
        const other = reopen();
        const [a, b] = await Promise.all([keys.signingKeys(), other.signingKeys()]);
        expect(a).toEqual(b);
        expect(a.current).toMatch(/^sig_/);
        expect(a.next).toMatch(/^sig_/);
        expect(a.next).not.toBe(a.current);
        expect(await reopen().signingKeys()).toEqual(a);
      }),
    );

    it(
      "rotates: next becomes current and a fresh key becomes next, kept for a restart; the tokens stay",
      withKeys(async ({ keys, reopen }) => {
        const tokens = await keys.apiTokens();
        const before = await keys.signingKeys();
        const rotated = await keys.rotateSigningKeys();
        expect(rotated.current).toBe(before.next);
        expect(rotated.next).toMatch(/^sig_/);
        expect([before.current, before.next]).not.toContain(rotated.next);
        expect(await keys.signingKeys()).toEqual(rotated);
        expect(await reopen().signingKeys()).toEqual(rotated);
        const again = await keys.rotateSigningKeys();
        expect(again.current).toBe(rotated.next);
        expect(await keys.apiTokens()).toEqual(tokens);
        expect(await reopen().apiTokens()).toEqual(tokens);
      }),
    );
  });
}
