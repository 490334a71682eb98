// The token lives in sessionStorage only: gone when the tab closes, never in a URL, a cookie or a log.
import type { Access } from "./api.ts";

const KEY = "herald-console-session";

export interface Session {
  token: string;
  access: Access;
}

export function loadSession(): Session | undefined {
  try {
    const parsed = JSON.parse(sessionStorage.getItem(KEY) ?? "null") as Partial<Session> | null;
    if (typeof parsed?.token === "string" && (parsed.access === "write" || parsed.access === "read")) {
      return { token: parsed.token, access: parsed.access };
    }
  } catch {
    // A damaged entry is the same as none.
  }
  return undefined;
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}
