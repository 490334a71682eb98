// The API stage's access log line as API Gateway writes it for one request: the format the synthesized
// stage configures (stack.ts), each `$context` variable replaced, so the bench prices whatever the stack
// logs. API Gateway puts values in as they are (no JSON escaping), and so does this.
import { ACCESS_LOG_SAMPLE_VALUES } from "../prices-us-east-1.ts";

export interface LoggedRequest {
  method: string;
  /** The request's path and query as the client sent them (the variable `$context.path` has no query). */
  url: string;
  status: number;
  responseBytes: number;
}

export function accessLogLine(request: LoggedRequest, format: string): string {
  const fromRequest: Record<string, string> = {
    httpMethod: request.method,
    path: request.url.split("?")[0] as string,
    status: String(request.status),
    responseLength: String(request.responseBytes),
  };
  return format.replace(/\$context\.([\w.]+)/g, (_, name: string) => {
    const value = fromRequest[name] ?? ACCESS_LOG_SAMPLE_VALUES[name];
    if (value === undefined) {
      throw new Error(`the cost bench has no value for $context.${name}: add one to ACCESS_LOG_SAMPLE_VALUES`);
    }
    return value;
  });
}
