// Properties of the destination policy's address matching, checked against node:net as an independent
// implementation: its IP parser (isIP) and its subnet matcher (BlockList).
import { BlockList, isIP } from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  destinationRefusal,
  nonPublicReason,
  parseDestinationPolicy,
  parseIp,
} from "../../../lambdas/core/destination-policy.ts";

/** The ranges docs/architecture.md §23 and the IANA special-purpose registries say a public-only policy refuses. */
const REFUSED_V4 = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.0.2.0/24",
  "192.88.99.0/24",
  "192.168.0.0/16",
  "198.18.0.0/15",
  "198.51.100.0/24",
  "203.0.113.0/24",
  "224.0.0.0/4",
  "240.0.0.0/4",
];
const REFUSED_V6 = [
  "::/128",
  "::1/128",
  "::/96",
  "64:ff9b:1::/48",
  "100::/64",
  "2001::/23",
  "2001:db8::/32",
  "3fff::/20",
  "fc00::/7",
  "fe80::/10",
  "fec0::/10",
  "ff00::/8",
];

function v4Text(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join(".");
}
function v6Text(value: bigint): string {
  const words: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) words.push(((value >> shift) & 0xffffn).toString(16));
  return words.join(":");
}

/** A random address inside `cidr`, as text. */
function addressIn(cidr: string): fc.Arbitrary<string> {
  const [net, prefixText] = cidr.split("/") as [string, string];
  const base = parseIp(net);
  if (!base) throw new Error(cidr);
  const bits = base.family === 4 ? 32n : 128n;
  const hostBits = bits - BigInt(prefixText);
  return fc
    .bigInt({ min: 0n, max: (1n << hostBits) - 1n })
    .map((host) => ((base.value >> hostBits) << hostBits) | host)
    .map((value) => (base.family === 4 ? v4Text(value) : v6Text(value)));
}

const anyV4 = fc.bigInt({ min: 0n, max: 0xffffffffn }).map(v4Text);
const blockList = (cidrs: string[], family: "ipv4" | "ipv6"): BlockList => {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [net, prefix] = cidr.split("/") as [string, string];
    list.addSubnet(net, Number(prefix), family);
  }
  return list;
};
const refusedV4 = blockList(REFUSED_V4, "ipv4");

describe("destination policy properties", () => {
  it("refuses every address of every non-public range", () => {
    const inSomeRange = fc.constantFrom(...REFUSED_V4, ...REFUSED_V6).chain(addressIn);
    fc.assert(
      fc.property(inSomeRange, (address) => {
        expect(nonPublicReason(address)).toBeDefined();
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses an IPv4 address exactly when it is in a non-public range (node:net BlockList agrees)", () => {
    // Uniform addresses rarely land in a small range or on its edges: add both.
    const edges = REFUSED_V4.flatMap((cidr) => {
      const [net, prefix] = cidr.split("/") as [string, string];
      const first = (parseIp(net) as { value: bigint }).value;
      const last = first + (1n << BigInt(32 - Number(prefix))) - 1n;
      return [first - 1n, first, last, last + 1n].filter((v) => v >= 0n && v <= 0xffffffffn).map(v4Text);
    });
    const v4 = fc.oneof(anyV4, fc.constantFrom(...REFUSED_V4).chain(addressIn), fc.constantFrom(...edges));
    fc.assert(
      fc.property(v4, (address) => {
        expect(nonPublicReason(address) !== undefined).toBe(refusedV4.check(address, "ipv4"));
      }),
      { numRuns: 5000 },
    );
  });

  it("judges IPv4-mapped, NAT64 and 6to4 forms by the IPv4 address they carry", () => {
    fc.assert(
      fc.property(anyV4, (v4) => {
        const [a, b, c, d] = v4.split(".").map(Number) as [number, number, number, number];
        const hex = `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
        const refused = nonPublicReason(v4) !== undefined;
        for (const form of [`::ffff:${v4}`, `::ffff:${hex}`, `64:ff9b::${v4}`, `2002:${hex}::1`]) {
          expect(nonPublicReason(form) !== undefined).toBe(refused);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("allows no IPv6 address outside global unicast (2000::/3) unless it carries a public IPv4 address", () => {
    const outside = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }).filter((v) => v >> 125n !== 1n);
    fc.assert(
      fc.property(outside.map(v6Text), (address) => {
        const embedded = /^0:0:0:0:0:ffff:|^64:ff9b:0:0:0:0:/.test(address);
        if (!embedded) expect(nonPublicReason(address)).toBeDefined();
      }),
      { numRuns: 2000 },
    );
  });

  it("parses exactly the strings node:net takes for IP addresses", () => {
    const ipLike = fc.oneof(
      fc.ipV4(),
      fc.ipV6(),
      fc.ipV4Extended(),
      fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEF:.%"), maxLength: 45 }),
      fc
        .tuple(fc.ipV6(), fc.string({ unit: fc.constantFrom(..."az09-.:%/ "), maxLength: 6 }))
        .map(([a, z]) => `${a}%${z}`),
      fc.ipV6().map((s) => s.replace(/:/, ":::")),
    );
    fc.assert(
      fc.property(ipLike, (text) => {
        expect(parseIp(text) !== undefined).toBe(isIP(text) !== 0);
      }),
      // Zones: an empty one (`::%`, once missed) is no address; node:net takes letters, digits, - . :
      { numRuns: 5000, examples: [["::%"], ["::%a"], ["::1%eth0"], ["fe80::1%en-0.1"], ["::%a b"], ["::%/"]] },
    );
  });

  it("matches an allow-listed range as node:net BlockList does", () => {
    const v6 = fc.ipV6().filter((s) => !s.includes("."));
    const scenario = fc.oneof(
      fc.tuple(fc.ipV4(), fc.ipV4(), fc.integer({ min: 0, max: 32 }), fc.constant("ipv4" as const)),
      fc.tuple(v6, v6, fc.integer({ min: 0, max: 128 }), fc.constant("ipv6" as const)),
    );
    fc.assert(
      fc.property(scenario, ([net, address, prefix, family]) => {
        if (nonPublicReason(address) === undefined) return; // a public address needs no allow-list
        const policy = parseDestinationPolicy("public", [`${net}/${prefix}`]);
        const allowed = destinationRefusal(policy, "some.name", address) === undefined;
        expect(allowed).toBe(blockList([`${net}/${prefix}`], family).check(address, family));
      }),
      { numRuns: 5000 },
    );
  });
});
