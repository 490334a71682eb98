// GET /console: the web console's page and files. No token is needed to load them: the page holds no data,
// and everything it shows comes from the /v2 routes with the token the user types (docs/console.md).
import type { ConsoleAssetSource } from "../console/console-assets.ts";
import { errorResponse, type ApiRequest, type ApiResponse } from "./http.ts";

/**
 * Scripts, styles and API calls from this origin only; no inline script or style, no frames, no plugins,
 * no form posts elsewhere. The page builds its DOM with createElement, so it needs nothing looser.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

export function isConsolePath(path: string): boolean {
  const lower = path.toLowerCase();
  return lower === "/console" || lower.startsWith("/console/");
}

function fileOf(path: string): string | undefined {
  const rest = path.slice("/console".length).replace(/^\/+/, "");
  return rest === "" ? "index.html" : rest;
}

/** Serves a console file, gzipped when the client takes gzip, 304 when it has this version. */
export async function serveConsole(load: ConsoleAssetSource | undefined, request: ApiRequest): Promise<ApiResponse> {
  const method = request.method.toUpperCase();
  if (method !== "GET" && method !== "HEAD") return errorResponse(405, `method ${method} not allowed here; use GET`);
  if (!load) return errorResponse(404, "this Herald serves no console");
  const asset = (await load()).get(fileOf(request.path) ?? "");
  if (!asset) return errorResponse(404, "not found");
  const headers: Record<string, string> = {
    "Content-Type": asset.contentType,
    // Revalidated on every load (a deploy changes the files behind the same names); 304 when unchanged.
    "Cache-Control": "no-cache",
    ETag: asset.etag,
    Vary: "Accept-Encoding",
    "Content-Security-Policy": CONSOLE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
  };
  if (request.headers["if-none-match"]?.split(/\s*,\s*/).includes(asset.etag)) {
    return { status: 304, raw: { headers, body: new Uint8Array(0) } };
  }
  const gzip = /\bgzip\b/i.test(request.headers["accept-encoding"] ?? "");
  if (gzip) headers["Content-Encoding"] = "gzip";
  const body = gzip ? asset.gzip : asset.body;
  return { status: 200, raw: { headers, body: method === "HEAD" ? new Uint8Array(0) : body } };
}
