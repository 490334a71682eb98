// Building API requests from what the user typed (no DOM): unit-tested in node, fuzzed where it parses.

/** Form values → the API's list query (§18 of docs/qstash-api.md): empty fields left out, dates as epoch ms. */
export function listQuery(values: Record<string, string>, extra: Record<string, string | undefined> = {}): string {
  const query = new URLSearchParams();
  for (const [name, raw] of Object.entries({ ...values, ...extra })) {
    const value = raw?.trim();
    if (!value) continue;
    query.set(name, name === "fromDate" || name === "toDate" ? String(epochMs(name, value)) : value);
  }
  return query.toString();
}

/** A `datetime-local` value (the viewer's time zone) or epoch ms → epoch ms. */
export function epochMs(name: string, value: string): number {
  if (/^\d+$/.test(value)) return Number(value);
  const ms = new Date(value).getTime();
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(ms)) throw new Error(`${name}: not a date or time`);
  return ms;
}

/** "Name: value" lines → header pairs. Blank lines are skipped; a line without a name is an error. */
export function parseHeaderLines(text: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const [index, line] of text.split(/\r?\n/).entries()) {
    if (line.trim() === "") continue;
    const colon = line.indexOf(":");
    const name = colon < 0 ? "" : line.slice(0, colon).trim();
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
      throw new Error(`header line ${index + 1}: write it as "Name: value"`);
    }
    const value = line.slice(colon + 1).trim();
    // What fetch() accepts in a header value (tab, visible ASCII, space, Latin-1), as the API checks too.
    if (!/^[\t\x20-\x7e\x80-\xff]*$/.test(value)) {
      throw new Error(`header line ${index + 1}: the value has characters a header cannot carry`);
    }
    pairs.push([name, value]);
  }
  return pairs;
}

export interface PublishForm {
  destination: string;
  queue: string;
  method: string;
  delay: string;
  retries: string;
  callback: string;
  failureCallback: string;
  deduplicationId: string;
  label: string;
  contentType: string;
  headers: string;
  body: string;
}

export interface PublishCall {
  path: string;
  headers: [string, string][];
  body: string;
}

/**
 * The request the request builder sends: `/v2/publish/<destination>` (the destination raw in the path, as
 * the SDKs send it) or `/v2/enqueue/<queue>/<destination>`, the options as their Upstash-* headers.
 */
export function publishCall(form: PublishForm): PublishCall {
  const destination = form.destination.trim();
  if (destination === "") throw new Error("Destination: a URL or a URL group name");
  const queue = form.queue.trim();
  const path = queue ? `/v2/enqueue/${queue}/${destination}` : `/v2/publish/${destination}`;
  const headers: [string, string][] = [];
  const option = (name: string, value: string): void => {
    if (value.trim() !== "") headers.push([name, value.trim()]);
  };
  option("Upstash-Method", form.method === "POST" ? "" : form.method);
  option("Upstash-Delay", form.delay);
  option("Upstash-Retries", form.retries);
  option("Upstash-Callback", form.callback);
  option("Upstash-Failure-Callback", form.failureCallback);
  option("Upstash-Deduplication-Id", form.deduplicationId);
  option("Upstash-Label", form.label);
  option("Content-Type", form.contentType);
  headers.push(...parseHeaderLines(form.headers));
  return { path, headers, body: form.body };
}
