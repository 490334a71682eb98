// Redaction (`Upstash-Redact-Fields`): values a publisher marks private are shown by every API answer as
// `REDACTED:<sha256 hex>` while deliveries, retries and DLQ retries still send the originals
// (README, "Redaction"; QStash: https://upstash.com/docs/qstash/howto/redact-fields).
import { createHash } from "node:crypto";
import { badRequest, clip } from "./errors.ts";
import { canonicalHeaderName, type HeaderMap } from "./headers.ts";
import type { Message } from "./message.ts";

/** What a message hides from API answers. `header`: true for every header, or the (canonical) names. */
export interface RedactSettings {
  body?: true;
  header?: true | string[];
}

// The SDK sends `header` and `header[Name]`; QStash's docs write `headers` and `headers[Name]`: both are read.
const FIELD = /^(body|headers?)(?:\[([^\]]*)\])?$/i;

/** Reads `Upstash-Redact-Fields` (`body,header` or `header[Authorization],header[X-Key]`); 400 when malformed. */
export function parseRedactFields(raw: string | undefined): RedactSettings | undefined {
  if (raw === undefined) return undefined;
  const settings: RedactSettings = {};
  for (const part of raw.split(",")) {
    const field = part.trim();
    if (field === "") continue;
    const match = FIELD.exec(field);
    const kind = match?.[1]?.toLowerCase();
    const name = match?.[2]?.trim();
    if (!match || (kind === "body" && match[2] !== undefined) || name === "") {
      throw badRequest(
        `invalid Upstash-Redact-Fields: "${clip(field)}", use body, header or header[<name>] (comma-separated)`,
      );
    }
    if (kind === "body") settings.body = true;
    else if (name === undefined) settings.header = true;
    else if (settings.header !== true) {
      const names: string[] = settings.header ?? [];
      const canonical = canonicalHeaderName(name);
      if (!names.includes(canonical)) names.push(canonical);
      settings.header = names;
    }
  }
  return settings.body || settings.header ? settings : undefined;
}

/** `REDACTED:` and the SHA-256 (hex) of the value, so a holder of the original can check it matches. */
export function redactedValue(value: string | Uint8Array): string {
  return `REDACTED:${createHash("sha256").update(value).digest("hex")}`;
}

const encoder = new TextEncoder();

function redactHeaders(header: HeaderMap, which: true | string[]): HeaderMap {
  const out: HeaderMap = {};
  for (const [name, values] of Object.entries(header)) {
    const hidden = which === true || which.includes(canonicalHeaderName(name));
    Object.defineProperty(out, name, {
      value: hidden ? values.map(redactedValue) : values,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/**
 * The message as API answers show it: redacted values replaced, and no `redact` left, so redacting the
 * result again changes nothing (a copy kept redacted in the log is shown as it is).
 */
export function redactMessage(message: Message): Message {
  const settings = message.redact;
  if (!settings) return message;
  const { redact: _redact, ...rest } = message;
  const shown: Message = { ...rest };
  if (settings.body && message.body.byteLength > 0) shown.body = encoder.encode(redactedValue(message.body));
  if (settings.header) {
    const which = settings.header;
    shown.header = redactHeaders(message.header, which);
    // The headers forwarded to the callbacks (Upstash-Callback-Forward-*) are the publisher's too.
    if (message.callback)
      shown.callback = { ...message.callback, header: redactHeaders(message.callback.header, which) };
    if (message.failureCallback) {
      shown.failureCallback = {
        ...message.failureCallback,
        header: redactHeaders(message.failureCallback.header, which),
      };
    }
  }
  return shown;
}

/**
 * What a callback or failure-callback message made for `source` hides: its body carries the source's body
 * and headers (`sourceBody`, `sourceHeader`), so a source with any redaction makes the whole body private;
 * and of its own headers, those the source forwarded to it (`forwarded`, from `Upstash-Callback-Forward-*`)
 * that the source's header redaction covers — not the Content-Type Herald sets.
 */
export function redactionForCallback(source: Message, forwarded: HeaderMap): RedactSettings | undefined {
  if (!source.redact) return undefined;
  const which = source.redact.header;
  const hidden =
    which === undefined
      ? []
      : Object.keys(forwarded)
          .map(canonicalHeaderName)
          .filter((name) => which === true || which.includes(name));
  return hidden.length > 0 ? { body: true, header: hidden } : { body: true };
}
