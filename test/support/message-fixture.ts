// A complete Message for tests; override what a test is about.
import type { Message } from "../../lambdas/core/message.ts";

export function makeMessage(overrides: Partial<Message> = {}): Message {
  return {
    messageId: "msg_01HZX0000000000000000000",
    url: "https://example.com:8443/api/hook?x=1",
    method: "POST",
    header: { "Content-Type": ["text/plain"] },
    body: new TextEncoder().encode("hello"),
    maxRetries: 3,
    labels: [],
    notBefore: 1_700_000_000_000,
    createdAt: 1_700_000_000_000,
    ...overrides,
  };
}
