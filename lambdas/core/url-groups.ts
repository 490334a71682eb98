// URL groups, a.k.a. topics (docs/qstash-api.md §13): a name for a set of endpoints; publishing to it
// fans out one message per endpoint.
import type { HeraldContext } from "./context.ts";
import { assertHttpUrl } from "./destination.ts";
import { assertDestinationAllowed, type DestinationPolicy } from "./destination-policy.ts";
import { badRequest, clip, notFound } from "./errors.ts";
import { RESOURCE_NAME, updateRecord } from "./records.ts";

export interface Endpoint {
  name?: string;
  url: string;
}

export interface UrlGroup {
  name: string;
  createdAt: number;
  updatedAt: number;
  endpoints: Endpoint[];
}

/** Most endpoints one group may have (QStash: 100). */
const MAX_ENDPOINTS = 100;
/** Its endpoints' names and URLs together, in UTF-8: a group is one DynamoDB item, at most 400 KB. */
export const MAX_URL_GROUP_BYTES = 256 * 1024;

export function assertUrlGroupName(name: string): void {
  if (!RESOURCE_NAME.test(name)) {
    throw badRequest(`invalid url group name "${clip(name)}": use 1-128 of A-Z a-z 0-9 . _ -`);
  }
}

/**
 * Reads `{"endpoints": [{"name"?, "url"?}, ...]}`; `policy` for upserts, whose URLs are needed and checked
 * (removals may name either).
 */
function parseEndpoints(body: unknown, policy: DestinationPolicy | undefined): Endpoint[] {
  const needUrl = policy !== undefined;
  const list = (body as { endpoints?: unknown } | null)?.endpoints;
  if (!Array.isArray(list) || list.length === 0) throw badRequest("endpoints must be a non-empty array");
  if (list.length > MAX_ENDPOINTS) throw badRequest(`at most ${MAX_ENDPOINTS} endpoints per request`);
  return list.map((raw, i) => {
    const { name, url } = (raw ?? {}) as { name?: unknown; url?: unknown };
    if (name !== undefined && (typeof name !== "string" || (name !== "" && !RESOURCE_NAME.test(name)))) {
      throw badRequest(`endpoints[${i}].name must be 1-128 of A-Z a-z 0-9 . _ -`);
    }
    if (url !== undefined && typeof url !== "string") throw badRequest(`endpoints[${i}].url must be a string`);
    if (needUrl && url === undefined) throw badRequest(`endpoints[${i}].url is required`);
    if (!needUrl && !name && url === undefined) throw badRequest(`endpoints[${i}] needs a name or a url`);
    if (url !== undefined) assertHttpUrl(url, `endpoints[${i}].url`);
    if (url !== undefined && policy) assertDestinationAllowed(policy, url, `endpoints[${i}].url`);
    const endpoint: Endpoint = { url: url ?? "" };
    if (name) endpoint.name = name;
    return endpoint;
  });
}

/** Adds endpoints, creating the group if needed; an endpoint with the same name (or url) is replaced. */
export async function upsertEndpoints(ctx: HeraldContext, name: string, body: unknown): Promise<void> {
  assertUrlGroupName(name);
  const added = parseEndpoints(body, ctx.config.destinations);
  const now = ctx.clock.now();
  await updateRecord<UrlGroup>(ctx, "urlGroup", name, (current) => {
    const endpoints = [...(current?.endpoints ?? [])];
    for (const endpoint of added) {
      const same = endpoints.findIndex((e) => (endpoint.name ? e.name === endpoint.name : e.url === endpoint.url));
      if (same >= 0) endpoints[same] = endpoint;
      else endpoints.push(endpoint);
    }
    if (endpoints.length > MAX_ENDPOINTS) throw badRequest(`a url group has at most ${MAX_ENDPOINTS} endpoints`);
    const bytes = endpoints.reduce((n, e) => n + Buffer.byteLength(e.url) + Buffer.byteLength(e.name ?? ""), 0);
    if (bytes > MAX_URL_GROUP_BYTES) {
      throw badRequest(`a url group's endpoints hold at most ${MAX_URL_GROUP_BYTES} bytes of names and urls`);
    }
    // A group whose last endpoint was removed no longer exists: adding to it again creates it anew.
    const createdAt = current && current.endpoints.length > 0 ? current.createdAt : now;
    return { name, createdAt, updatedAt: now, endpoints };
  });
}

/**
 * Removes endpoints matched by name or url. A group left without endpoints no longer exists for the
 * API (get, list, publish); its empty record is what a concurrent upsert builds on, so none is lost.
 */
export async function removeEndpoints(ctx: HeraldContext, name: string, body: unknown): Promise<void> {
  const removed = parseEndpoints(body, undefined);
  const matches = (e: Endpoint): boolean =>
    removed.some((r) => (r.name ? e.name === r.name : false) || (r.url !== "" && e.url === r.url));
  let exists = false;
  await updateRecord<UrlGroup>(ctx, "urlGroup", name, (current) => {
    exists = current !== undefined && current.endpoints.length > 0;
    if (!current || !exists) return undefined;
    return { ...current, endpoints: current.endpoints.filter((e) => !matches(e)), updatedAt: ctx.clock.now() };
  });
  if (!exists) throw notFound(`url group "${name}" not found`);
}

export async function findUrlGroup(ctx: Pick<HeraldContext, "store">, name: string): Promise<UrlGroup> {
  const group = await ctx.store.getRecord<UrlGroup>("urlGroup", name);
  if (!group || group.value.endpoints.length === 0) throw notFound(`url group "${name}" not found`);
  return group.value;
}

/** The JSON shape: endpoints carry exactly `name` and `url` (the SDK compares them as whole objects). */
export function urlGroupView(group: UrlGroup): Record<string, unknown> {
  return {
    name: group.name,
    createdAt: group.createdAt,
    updatedAt: group.updatedAt,
    endpoints: group.endpoints.map((e) => (e.name ? { name: e.name, url: e.url } : { url: e.url })),
  };
}

export async function listUrlGroups(ctx: HeraldContext): Promise<Record<string, unknown>[]> {
  return (await ctx.store.listRecords<UrlGroup>("urlGroup")).filter((g) => g.endpoints.length > 0).map(urlGroupView);
}

export async function deleteUrlGroup(ctx: HeraldContext, name: string): Promise<void> {
  await findUrlGroup(ctx, name); // 404 unless it has endpoints
  await ctx.store.deleteRecord("urlGroup", name);
}
