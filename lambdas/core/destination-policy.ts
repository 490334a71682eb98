// Destination policy (docs/architecture.md §23): which addresses deliveries, callbacks and failure callbacks may reach.
// `public` (the AWS default) refuses loopback (the Lambda runtime API), private, link-local (the metadata
// service) and every other non-public range, except what the allow-list names; `any` (local mode's
// default) refuses nothing. Pure: the sender applies it to the address it connects to, publish to IP
// literals in the URLs it is given.
import { badRequest } from "./errors.ts";

export type DestinationMode = "public" | "any";
export const DESTINATION_MODES: readonly DestinationMode[] = ["public", "any"];

export interface AddressRange {
  family: 4 | 6;
  network: bigint;
  prefix: number;
}

export interface DestinationPolicy {
  readonly mode: DestinationMode;
  /** Allowed under `public` whatever they resolve to: exact names, or `*.suffix` for every name under it. */
  readonly hosts: readonly string[];
  /** Allowed under `public` although non-public. */
  readonly ranges: readonly AddressRange[];
}

export const ANY_DESTINATION: DestinationPolicy = { mode: "any", hosts: [], ranges: [] };
export const PUBLIC_DESTINATIONS: DestinationPolicy = { mode: "public", hosts: [], ranges: [] };

interface Address {
  family: 4 | 6;
  value: bigint;
}

const V4_BITS = 32;
const V6_BITS = 128;

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return undefined;
    const byte = Number(part);
    if (byte > 255) return undefined;
    value = (value << 8n) | BigInt(byte);
  }
  return value;
}

function parseIpv6(text: string): bigint | undefined {
  let rest = text;
  const zone = rest.indexOf("%"); // fe80::1%eth0: the zone names an interface, not part of the address
  if (zone >= 0) {
    // A zone is one or more of these characters, as node:net reads it (`::%` is no address).
    if (!/^[0-9a-zA-Z.:-]+$/.test(rest.slice(zone + 1))) return undefined;
    rest = rest.slice(0, zone);
  }
  let tail: number[] = [];
  const lastColon = rest.lastIndexOf(":");
  if (lastColon >= 0 && rest.includes(".", lastColon)) {
    const v4 = parseIpv4(rest.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = [Number(v4 >> 16n), Number(v4 & 0xffffn)];
    rest = rest.slice(0, lastColon + 1);
    if (!rest.endsWith("::")) rest = rest.slice(0, -1);
  }
  const halves = rest.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string): string[] => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0] as string);
  const after = halves.length === 2 ? groups(halves[1] as string) : [];
  const all = [...head, ...after];
  if (!all.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  const count = all.length + tail.length;
  if (halves.length === 1 ? count !== 8 : count > 7) return undefined;
  const words = [
    ...head.map((g) => parseInt(g, 16)),
    ...new Array<number>(halves.length === 2 ? 8 - count : 0).fill(0),
    ...after.map((g) => parseInt(g, 16)),
    ...tail,
  ];
  return words.reduce((value, word) => (value << 16n) | BigInt(word), 0n);
}

/** An IP address as written in a URL host (brackets allowed) or returned by DNS; undefined for a name. */
export function parseIp(text: string): Address | undefined {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (bare.includes(":")) {
    const value = parseIpv6(bare);
    return value === undefined ? undefined : { family: 6, value };
  }
  const value = parseIpv4(bare);
  return value === undefined ? undefined : { family: 4, value };
}

function parseRange(text: string): AddressRange | undefined {
  const slash = text.indexOf("/");
  const address = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!address) return undefined;
  const bits = address.family === 4 ? V4_BITS : V6_BITS;
  const prefixText = slash < 0 ? String(bits) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) return undefined;
  const prefix = Number(prefixText);
  // The network is the address with its host bits cleared, so `10.1.2.3/16` means 10.1.0.0/16.
  const shift = BigInt(bits - prefix);
  return { family: address.family, network: (address.value >> shift) << shift, prefix };
}

function inRange(address: Address, range: AddressRange): boolean {
  if (address.family !== range.family) return false;
  const shift = BigInt((address.family === 4 ? V4_BITS : V6_BITS) - range.prefix);
  return address.value >> shift === range.network >> shift;
}

function range(cidr: string): AddressRange {
  return parseRange(cidr) as AddressRange;
}

/**
 * Non-public IPv4 ranges (IANA special-purpose registry), most specific first: the first match names the
 * reason. Everything else is public.
 */
const NON_PUBLIC_V4: readonly (readonly [AddressRange, string])[] = [
  [range("169.254.169.254/32"), "the cloud metadata service"],
  [range("255.255.255.255/32"), "the broadcast address"],
  [range("0.0.0.0/8"), "a 'this network' address"], // 0.0.0.0 reaches the local host on Linux
  [range("10.0.0.0/8"), "a private address"],
  [range("100.64.0.0/10"), "a shared (carrier-grade NAT) address"],
  [range("127.0.0.0/8"), "a loopback address"],
  [range("169.254.0.0/16"), "a link-local address"],
  [range("172.16.0.0/12"), "a private address"],
  [range("192.0.0.0/24"), "an IETF protocol assignment"],
  [range("192.0.2.0/24"), "a documentation address"],
  [range("192.88.99.0/24"), "a reserved address (6to4 relay)"],
  [range("192.168.0.0/16"), "a private address"],
  [range("198.18.0.0/15"), "a benchmarking address"],
  [range("198.51.100.0/24"), "a documentation address"],
  [range("203.0.113.0/24"), "a documentation address"],
  [range("224.0.0.0/4"), "a multicast address"],
  [range("240.0.0.0/4"), "a reserved address"],
];

/** Non-public IPv6 ranges, most specific first. Outside 2000::/3 (global unicast) nothing is public. */
const NON_PUBLIC_V6: readonly (readonly [AddressRange, string])[] = [
  [range("::/128"), "the unspecified address"],
  [range("::1/128"), "a loopback address"],
  [range("::/96"), "an IPv4-compatible address (deprecated)"],
  [range("64:ff9b:1::/48"), "a local-use NAT64 address"],
  [range("100::/64"), "a discard-only address"],
  [range("2001:db8::/32"), "a documentation address"],
  [range("2001::/23"), "an IETF protocol assignment"],
  [range("3fff::/20"), "a documentation address"],
  [range("5f00::/16"), "a segment-routing address"],
  [range("fd00:ec2::254/128"), "the cloud metadata service"],
  [range("fc00::/7"), "a unique-local address"],
  [range("fe80::/10"), "a link-local address"],
  [range("fec0::/10"), "a site-local address (deprecated)"],
  [range("ff00::/8"), "a multicast address"],
];
const GLOBAL_UNICAST = range("2000::/3");

/** IPv6 forms that carry an IPv4 address, reached through it: judged by the IPv4 address they carry. */
const EMBEDDING_V4: readonly (readonly [AddressRange, number, string])[] = [
  [range("::ffff:0:0/96"), 0, "IPv4-mapped"],
  [range("64:ff9b::/96"), 0, "NAT64"],
  [range("2002::/16"), 80, "6to4"],
];

function embeddedIpv4(address: Address): { v4: Address; form: string } | undefined {
  if (address.family !== 6) return undefined;
  for (const [embedding, shift, form] of EMBEDDING_V4) {
    if (inRange(address, embedding))
      return { v4: { family: 4, value: (address.value >> BigInt(shift)) & 0xffffffffn }, form };
  }
  return undefined;
}

function reasonFor(address: Address): string | undefined {
  if (address.family === 4) return NON_PUBLIC_V4.find(([r]) => inRange(address, r))?.[1];
  const embedded = embeddedIpv4(address);
  if (embedded) {
    const reason = reasonFor(embedded.v4);
    return reason === undefined ? undefined : `${reason} (${embedded.form})`;
  }
  const reason = NON_PUBLIC_V6.find(([r]) => inRange(address, r))?.[1];
  if (reason !== undefined) return reason;
  return inRange(address, GLOBAL_UNICAST) ? undefined : "a reserved address";
}

/**
 * Why an IP address is not public ("a loopback address", "the cloud metadata service" …), or undefined
 * when it is public. Not an IP address: undefined.
 */
export function nonPublicReason(ip: string): string | undefined {
  const address = parseIp(ip);
  return address ? reasonFor(address) : undefined;
}

function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, "");
}

function hostAllowed(policy: DestinationPolicy, host: string): boolean {
  if (policy.hosts.length === 0) return false;
  const name = normalizeHost(host);
  return policy.hosts.some((allowed) =>
    allowed.startsWith("*.") ? name.endsWith(allowed.slice(1)) : name === allowed,
  );
}

function addressAllowed(policy: DestinationPolicy, address: Address): boolean {
  const embedded = embeddedIpv4(address)?.v4;
  return policy.ranges.some((r) => inRange(address, r) || (embedded !== undefined && inRange(embedded, r)));
}

/**
 * Why the policy refuses to connect to `ip` for a destination whose host is `host` (a name, or the IP
 * itself), or undefined when it may. A host on the allow-list may resolve to anything; an address in an
 * allowed range is reachable under any name.
 */
export function destinationRefusal(policy: DestinationPolicy, host: string, ip: string): string | undefined {
  if (policy.mode === "any") return undefined;
  const address = parseIp(ip);
  if (!address) return `${ip} is not an IP address`;
  const reason = reasonFor(address);
  if (reason === undefined || hostAllowed(policy, host) || addressAllowed(policy, address)) return undefined;
  return reason;
}

/**
 * Publish-time check of a URL already known to be a valid http(s) URL: when its host is an IP address the
 * policy refuses, a 400 now rather than a failed message later. Names are judged when they are resolved,
 * at each connect (the sender): what a name resolves to may change.
 */
export function assertDestinationAllowed(policy: DestinationPolicy, url: string, what: string): void {
  if (policy.mode === "any") return;
  const host = new URL(url).hostname; // WHATWG parsing: 2130706433, 0x7f.1 and 127.1 all become 127.0.0.1
  if (!parseIp(host)) return;
  const reason = destinationRefusal(policy, host, host);
  if (reason !== undefined) {
    throw badRequest(`invalid ${what}: ${host} is ${reason}, refused by the destination policy`);
  }
}

const HOST_NAME = /^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;

/**
 * Reads a policy: the mode, and the allow-list as a comma-separated string or a list. Entries are host
 * names (`hooks.internal.example`, `*.internal.example`), addresses (`10.0.0.5`, `fd00::5`) or CIDR
 * ranges (`10.1.0.0/16`, `fd00:1::/64`). Throws an Error naming `source` on anything else.
 */
export function parseDestinationPolicy(
  mode: string,
  allowList: string | readonly string[] = [],
  source = "destination policy",
): DestinationPolicy {
  if (!(DESTINATION_MODES as readonly string[]).includes(mode)) {
    throw new Error(`${source}: mode must be one of ${DESTINATION_MODES.join(", ")}, got "${mode}"`);
  }
  const entries = (typeof allowList === "string" ? allowList.split(",") : allowList)
    .map((e) => e.trim())
    .filter((e) => e !== "");
  const hosts: string[] = [];
  const ranges: AddressRange[] = [];
  for (const entry of entries) {
    const asRange = parseRange(entry);
    if (asRange) {
      ranges.push(asRange);
      continue;
    }
    const name = normalizeHost(entry);
    if (entry.includes("/") || !HOST_NAME.test(name)) {
      throw new Error(`${source}: allow-list entry "${entry}" is neither a host name nor an IP address or CIDR range`);
    }
    hosts.push(name);
  }
  return { mode: mode as DestinationMode, hosts, ranges };
}
