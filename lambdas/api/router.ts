import type { HeraldConfig } from "../core/config.ts";
import type { HeraldContext } from "../core/context.ts";
import { HttpError } from "../core/errors.ts";
import { MAX_ID_LENGTH } from "../core/ids.ts";
import { callHook, HOOK_PATH } from "../core/workflow-hooks.ts";
import { authorize } from "./auth.ts";
import { isConsolePath, serveConsole } from "./console-route.ts";
import { errorResponse, json, type ApiRequest, type ApiResponse } from "./http.ts";
import { ROUTES, type Route } from "./routes.ts";

export type ErrorLogger = (message: string, error: unknown) => void;

interface Match {
  route: Route;
  param: string;
}

/** Finds the route for a path; `allowed` lists the methods the path supports when none matched. */
export function matchRoute(method: string, path: string): { match?: Match; allowed: string[] } {
  const segments = path.replace(/^\/+/, "").split("/");
  const allowed: string[] = [];
  for (const route of ROUTES) {
    const param = matchSegments(route, segments, path);
    if (param === undefined) continue;
    if (route.method === method) return { match: { route, param }, allowed };
    allowed.push(route.method);
  }
  return { allowed };
}

function matchSegments(route: Route, segments: string[], path: string): string | undefined {
  const fixed = route.segments;
  for (let i = 0; i < fixed.length; i++) {
    if (segments[i]?.toLowerCase() !== fixed[i]) return undefined;
  }
  const rest = segments.slice(fixed.length);
  if (route.param === "rest") {
    // Everything after "/v2/publish/", raw: the destination URL keeps its own slashes.
    const prefixLength = path.search(/[^/]/) + fixed.join("/").length + 1;
    const remainder = path.slice(prefixLength);
    return remainder === "" ? undefined : remainder;
  }
  const nonEmpty = rest.filter((s, i) => s !== "" || i < rest.length - 1);
  if (route.param === "id") {
    const suffix = route.suffix ?? [];
    if (nonEmpty.length !== 1 + suffix.length || nonEmpty[0] === "") return undefined;
    if (suffix.some((segment, i) => nonEmpty[i + 1]?.toLowerCase() !== segment)) return undefined;
    try {
      return decodeURIComponent(nonEmpty[0] as string);
    } catch {
      return undefined;
    }
  }
  // A trailing slash addresses the collection (`/v2/messages/` is the bulk endpoint, as the SDK assumes).
  return nonEmpty.length === 0 ? "" : undefined;
}

/** The largest request body `path` takes: the message body limit, more for a batch. */
export function maxRequestBytes(config: HeraldConfig, method: string, path: string): number {
  return limitOf(config, matchRoute(method.toUpperCase(), path).match);
}

const limitOf = (config: HeraldConfig, match: Match | undefined): number =>
  match?.route.maxBodyBytes?.(config) ?? config.maxBodyBytes;

export const bodyTooLarge = (limit: number): ApiResponse =>
  errorResponse(413, `request body too large: at most ${limit} bytes`);

/** Authenticates, routes and turns every failure into a JSON error. Never throws. */
export async function handleApiRequest(
  ctx: HeraldContext,
  request: ApiRequest,
  logError: ErrorLogger,
): Promise<ApiResponse> {
  try {
    if (isConsolePath(request.path)) return await serveConsole(ctx.consoleAssets, request);
    const { match, allowed } = matchRoute(request.method.toUpperCase(), request.path);
    // Before anything else (on AWS the platform has read the body; nothing is parsed or stored yet).
    const limit = limitOf(ctx.config, match);
    if (request.body.byteLength > limit) return bodyTooLarge(limit);
    // A run's webhook is called by third parties, without a token (core/workflow-hooks.ts).
    if (request.path.toLowerCase().startsWith(HOOK_PATH)) {
      const url = request.path + (request.rawQuery ? `?${request.rawQuery}` : "");
      const rest = request.path.slice(HOOK_PATH.length);
      return json(
        await callHook(ctx, { rest, method: request.method, url, headers: request.headers, body: request.body }),
      );
    }
    const access = await authorize(request, ctx.keys);
    if (!match) {
      return allowed.length > 0
        ? errorResponse(405, `method ${request.method} not allowed here; use ${[...new Set(allowed)].join(", ")}`)
        : errorResponse(404, "not found");
    }
    if (match.route.access === "write" && access !== "write") {
      return errorResponse(403, "this token is read-only: use the deployment's token to change anything");
    }
    // No id Herald makes is this long; refusing it here keeps oversized keys away from the stores.
    if (match.route.param === "id" && match.param.length > MAX_ID_LENGTH) return errorResponse(404, "not found");
    return await match.route.handler(ctx, request, match.param);
  } catch (error) {
    if (error instanceof HttpError) return errorResponse(error.status, error.message);
    logError(`internal error on ${request.method} ${request.path.split("?")[0]}`, error);
    return errorResponse(500, "internal error");
  }
}
