// Herald's own public API, called with the token the user typed: the console has no routes of its own.

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export interface RequestOptions {
  query?: string;
  body?: unknown;
  headers?: [string, string][];
}

export interface Api {
  call<T>(method: string, path: string, options?: RequestOptions): Promise<T>;
}

/** What the API answered as an error: its `{"error"}` (Herald) or `{"message"}` (API Gateway), else the status. */
async function errorOf(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => "");
  let message = "";
  try {
    const parsed = JSON.parse(text) as { error?: unknown; message?: unknown };
    message = String(parsed.error ?? parsed.message ?? "");
  } catch {
    message = text.slice(0, 200);
  }
  return new ApiError(response.status, message || `${response.status} ${response.statusText}`);
}

export function apiClient(token: string, onUnauthorized: (error: ApiError) => void): Api {
  return {
    async call<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
      const headers = new Headers(options.headers ?? []);
      headers.set("Authorization", `Bearer ${token}`);
      let body: Uint8Array<ArrayBuffer> | string | undefined;
      if (options.body !== undefined) {
        // A string body goes as bytes: given a string, fetch adds "Content-Type: text/plain;charset=UTF-8",
        // which Herald would forward to the destination as if the user had set it.
        if (typeof options.body === "string") body = new TextEncoder().encode(options.body);
        else {
          body = JSON.stringify(options.body);
          headers.set("Content-Type", "application/json");
        }
      }
      const url = options.query ? `${path}?${options.query}` : path;
      let response: Response;
      try {
        response = await fetch(url, { method, headers, body, cache: "no-store" });
      } catch {
        throw new ApiError(0, "Herald did not answer: check that it is running and reachable");
      }
      if (!response.ok) {
        const error = await errorOf(response);
        if (response.status === 401) onUnauthorized(error);
        throw error;
      }
      const text = await response.text();
      return (text === "" ? {} : JSON.parse(text)) as T;
    },
  };
}

export type Access = "write" | "read";

/**
 * Checks a token and finds what it may do: GET /v2/keys answers 200 to the deployment's token and 403 to
 * the read-only one (it reveals secrets); anything else (401 for a wrong token) is the API's message.
 */
export async function probeAccess(token: string): Promise<Access> {
  try {
    await apiClient(token, () => {}).call("GET", "/v2/keys");
    return "write";
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return "read";
    throw error;
  }
}
