import { describe, expect, it } from "vitest";
import { configFromEnv } from "../../../lambdas/core/config.ts";
import {
  ANY_DESTINATION,
  PUBLIC_DESTINATIONS,
  assertDestinationAllowed,
  destinationRefusal,
  nonPublicReason,
  parseDestinationPolicy,
} from "../../../lambdas/core/destination-policy.ts";
import { HttpError } from "../../../lambdas/core/errors.ts";

describe("nonPublicReason", () => {
  it.each([
    ["127.0.0.1", "a loopback address"],
    ["127.255.255.254", "a loopback address"],
    ["10.0.0.1", "a private address"],
    ["172.31.255.255", "a private address"],
    ["192.168.1.1", "a private address"],
    ["169.254.169.254", "the cloud metadata service"],
    ["169.254.170.2", "a link-local address"], // the ECS task metadata endpoint
    ["0.0.0.0", "a 'this network' address"],
    ["100.100.100.200", "a shared (carrier-grade NAT) address"],
    ["192.0.0.192", "an IETF protocol assignment"],
    ["192.0.2.1", "a documentation address"],
    ["198.19.0.1", "a benchmarking address"],
    ["224.0.0.1", "a multicast address"],
    ["250.1.2.3", "a reserved address"],
    ["255.255.255.255", "the broadcast address"],
    ["::", "the unspecified address"],
    ["::1", "a loopback address"],
    ["[::1]", "a loopback address"],
    ["::ffff:127.0.0.1", "a loopback address (IPv4-mapped)"],
    ["::ffff:7f00:1", "a loopback address (IPv4-mapped)"],
    ["::ffff:169.254.169.254", "the cloud metadata service (IPv4-mapped)"],
    ["64:ff9b::10.0.0.1", "a private address (NAT64)"],
    ["64:ff9b:1::1", "a local-use NAT64 address"],
    ["2002:a9fe:a9fe::1", "the cloud metadata service (6to4)"],
    ["::7f00:1", "an IPv4-compatible address (deprecated)"],
    ["fd00:ec2::254", "the cloud metadata service"],
    ["fd12:3456::1", "a unique-local address"],
    ["fe80::1", "a link-local address"],
    ["fe80::1%eth0", "a link-local address"],
    ["fec0::1", "a site-local address (deprecated)"],
    ["ff02::1", "a multicast address"],
    ["2001:db8::1", "a documentation address"],
    ["2001::1", "an IETF protocol assignment"], // Teredo
    ["100::1", "a discard-only address"],
    ["4000::1", "a reserved address"],
  ])("%s is %s", (address, reason) => {
    expect(nonPublicReason(address)).toBe(reason);
  });

  it.each([
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "2606:4700::1111",
    "::ffff:8.8.8.8",
    "64:ff9b::8.8.8.8",
    "2002:808:808::1",
  ])("%s is public", (address) => {
    expect(nonPublicReason(address)).toBeUndefined();
  });

  it("refuses the Lambda runtime API (AWS_LAMBDA_RUNTIME_API, 127.0.0.1:9001)", () => {
    expect(destinationRefusal(PUBLIC_DESTINATIONS, "127.0.0.1", "127.0.0.1")).toBe("a loopback address");
    expect(() =>
      assertDestinationAllowed(PUBLIC_DESTINATIONS, "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next", "x"),
    ).toThrow("127.0.0.1 is a loopback address");
  });
});

describe("destinationRefusal", () => {
  const policy = parseDestinationPolicy("public", "10.1.0.0/16, fd00:1::/64, Hooks.Internal.Example., *.svc.example");

  it("lets allow-listed ranges through under any name, and only them", () => {
    expect(destinationRefusal(policy, "db.example", "10.1.200.3")).toBeUndefined();
    expect(destinationRefusal(policy, "db.example", "::ffff:10.1.200.3")).toBeUndefined();
    expect(destinationRefusal(policy, "db.example", "fd00:1::5")).toBeUndefined();
    expect(destinationRefusal(policy, "db.example", "10.2.0.1")).toBe("a private address");
    expect(destinationRefusal(policy, "db.example", "fd00:2::5")).toBe("a unique-local address");
    expect(destinationRefusal(policy, "db.example", "169.254.169.254")).toBe("the cloud metadata service");
  });

  it("lets allow-listed names resolve to anything; *.suffix covers names under it, not the suffix itself", () => {
    expect(destinationRefusal(policy, "hooks.internal.example", "127.0.0.1")).toBeUndefined();
    expect(destinationRefusal(policy, "HOOKS.internal.example.", "10.9.9.9")).toBeUndefined();
    expect(destinationRefusal(policy, "a.b.svc.example", "192.168.0.1")).toBeUndefined();
    expect(destinationRefusal(policy, "svc.example", "192.168.0.1")).toBe("a private address");
    expect(destinationRefusal(policy, "evilsvc.example", "192.168.0.1")).toBe("a private address");
    expect(destinationRefusal(policy, "hooks.internal.example.evil", "127.0.0.1")).toBe("a loopback address");
  });

  it("allows public addresses under public, and everything under any", () => {
    expect(destinationRefusal(PUBLIC_DESTINATIONS, "example.com", "93.184.216.34")).toBeUndefined();
    expect(destinationRefusal(ANY_DESTINATION, "localhost", "127.0.0.1")).toBeUndefined();
    expect(destinationRefusal(ANY_DESTINATION, "x", "169.254.169.254")).toBeUndefined();
  });
});

describe("assertDestinationAllowed (publish time)", () => {
  const refused = (url: string, policy = PUBLIC_DESTINATIONS): string => {
    try {
      assertDestinationAllowed(policy, url, "destination url");
    } catch (error) {
      expect(error).toBeInstanceOf(HttpError);
      expect((error as HttpError).status).toBe(400);
      return (error as HttpError).message;
    }
    return "allowed";
  };

  it.each([
    ["http://127.0.0.1:8080/x", "127.0.0.1 is a loopback address"],
    ["http://2130706433/", "127.0.0.1 is a loopback address"],
    ["http://0x7f.1/", "127.0.0.1 is a loopback address"],
    ["http://127.1/", "127.0.0.1 is a loopback address"],
    ["http://0177.0.0.1/", "127.0.0.1 is a loopback address"],
    ["http://[::1]:3000/", "[::1] is a loopback address"],
    ["http://[::ffff:127.0.0.1]/", "[::ffff:7f00:1] is a loopback address (IPv4-mapped)"],
    ["http://169.254.169.254/latest/meta-data/", "169.254.169.254 is the cloud metadata service"],
    ["https://[fd00:ec2::254]/", "[fd00:ec2::254] is the cloud metadata service"],
    ["http://0.0.0.0:80/", "0.0.0.0 is a 'this network' address"],
    ["http://10.0.0.1./", "10.0.0.1 is a private address"],
  ])("refuses %s", (url, reason) => {
    expect(refused(url)).toBe(`invalid destination url: ${reason}, refused by the destination policy`);
  });

  it("leaves names to the connect-time check, and allows public and allow-listed addresses", () => {
    expect(refused("http://localhost:8080/")).toBe("allowed");
    expect(refused("http://internal.example/")).toBe("allowed");
    expect(refused("https://93.184.216.34/")).toBe("allowed");
    expect(refused("http://10.1.2.3/", parseDestinationPolicy("public", "10.1.0.0/16"))).toBe("allowed");
    expect(refused("http://127.0.0.1/", ANY_DESTINATION)).toBe("allowed");
  });
});

describe("parseDestinationPolicy", () => {
  it("reads modes and allow-list entries as a comma-separated string or a list", () => {
    const fromString = parseDestinationPolicy("public", " 10.1.2.3 , ,internal.example,fd00::/8 ");
    const fromList = parseDestinationPolicy("public", ["10.1.2.3", "internal.example", "fd00::/8"]);
    expect(fromString).toEqual(fromList);
    expect(fromString.hosts).toEqual(["internal.example"]);
    expect(fromString.ranges).toHaveLength(2);
    expect(parseDestinationPolicy("any")).toEqual(ANY_DESTINATION);
  });

  it.each(["10.0.0.0/33", "fd00::/129", "10.0.0/8", "http://x.example", "a b", "x..example", "*", "-x.example"])(
    "refuses the allow-list entry %s",
    (entry) => {
      expect(() => parseDestinationPolicy("public", entry, "HERALD_DESTINATION_ALLOW_LIST")).toThrow(
        `HERALD_DESTINATION_ALLOW_LIST: allow-list entry "${entry}"`,
      );
    },
  );

  it("refuses an unknown mode", () => {
    expect(() => parseDestinationPolicy("private")).toThrow(/mode must be one of public, any/);
  });
});

describe("configFromEnv", () => {
  it("defaults to public on AWS and any in local mode", () => {
    expect(configFromEnv({}, "public").destinations).toEqual(PUBLIC_DESTINATIONS);
    expect(configFromEnv({}, "any").destinations).toEqual(ANY_DESTINATION);
  });

  it("reads HERALD_DESTINATION_POLICY and HERALD_DESTINATION_ALLOW_LIST on either platform", () => {
    const env = { HERALD_DESTINATION_POLICY: "public", HERALD_DESTINATION_ALLOW_LIST: "10.1.0.0/16,hooks.internal" };
    expect(configFromEnv(env, "any").destinations).toEqual(
      parseDestinationPolicy("public", "10.1.0.0/16,hooks.internal"),
    );
    expect(configFromEnv({ HERALD_DESTINATION_POLICY: "any" }, "public").destinations.mode).toBe("any");
  });

  it("still reads the deprecated HERALD_ALLOW_PRIVATE_DESTINATIONS when no policy is set", () => {
    expect(configFromEnv({ HERALD_ALLOW_PRIVATE_DESTINATIONS: "true" }, "public").destinations.mode).toBe("any");
    expect(configFromEnv({ HERALD_ALLOW_PRIVATE_DESTINATIONS: "false" }, "any").destinations.mode).toBe("public");
    const both = { HERALD_ALLOW_PRIVATE_DESTINATIONS: "true", HERALD_DESTINATION_POLICY: "public" };
    expect(configFromEnv(both, "any").destinations.mode).toBe("public");
  });

  it("refuses invalid values at start-up", () => {
    expect(() => configFromEnv({ HERALD_DESTINATION_POLICY: "private" }, "any")).toThrow(/HERALD_DESTINATION_POLICY/);
    expect(() => configFromEnv({ HERALD_ALLOW_PRIVATE_DESTINATIONS: "yes" }, "any")).toThrow(
      /HERALD_ALLOW_PRIVATE_DESTINATIONS/,
    );
    expect(() => configFromEnv({ HERALD_DESTINATION_ALLOW_LIST: "10.0.0.0/99" }, "public")).toThrow(
      /HERALD_DESTINATION_ALLOW_LIST/,
    );
  });
});
