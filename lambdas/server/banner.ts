import type { SigningKeys } from "../ports.ts";

/** What both local commands print at start-up: where Herald is and a ready-to-paste SDK snippet. */
export function startupBanner(args: {
  title: string;
  url: string;
  token: string;
  readOnlyToken: string;
  keys: SigningKeys;
  dataDir: string;
}): string {
  const { url, token, keys } = args;
  return `${args.title} is listening on ${url} (data in ${args.dataDir})

  QSTASH_URL=${url}
  QSTASH_TOKEN=${token}
  QSTASH_READONLY_TOKEN=${args.readOnlyToken}
  QSTASH_CURRENT_SIGNING_KEY=${keys.current}
  QSTASH_NEXT_SIGNING_KEY=${keys.next}

Publish with the official SDK:

  import { Client } from "@upstash/qstash";
  const client = new Client({ baseUrl: "${url}", token: "${token}" });
  await client.publishJSON({ url: "http://localhost:3000/api/webhook", body: { hello: "world" } });

or with curl:

  curl -X POST '${url}/v2/publish/http://localhost:3000/api/webhook' \\
    -H 'Authorization: Bearer ${token}' -H 'Content-Type: application/json' -d '{"hello":"world"}'

The console: ${url}/console (sign in with QSTASH_TOKEN, or QSTASH_READONLY_TOKEN to look only)
`;
}
