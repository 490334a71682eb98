// The first invocation of each Herald Lambda in the cold-start bench, and how to tell that it went where it
// should (no error path): api, an authenticated GET of an unknown message; deliver, a job for an unknown
// message. Their AWS requests are answered by the stand-in of fake-aws.ts.
import { API_TOKEN } from "./lambda-env.ts";

export interface FirstCall {
  event: unknown;
  expect: (result: unknown) => boolean;
}

export const FIRST_CALLS: Record<"api" | "deliver", FirstCall> = {
  api: {
    event: {
      version: "2.0",
      routeKey: "$default",
      rawPath: "/v2/messages/msg_bench",
      rawQueryString: "",
      headers: { authorization: `Bearer ${API_TOKEN}` },
      isBase64Encoded: false,
      requestContext: { http: { method: "GET", path: "/v2/messages/msg_bench", sourceIp: "127.0.0.1" } },
    },
    expect: (result) => (result as { statusCode?: number }).statusCode === 404,
  },
  deliver: {
    event: {
      Records: [
        {
          messageId: "job-1",
          body: JSON.stringify({ m: "msg_bench", r: 0, d: 0 }),
          attributes: {},
          eventSource: "aws:sqs",
        },
      ],
    },
    expect: (result) => (result as { batchItemFailures?: unknown[] }).batchItemFailures?.length === 0,
  },
};
