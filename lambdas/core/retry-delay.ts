import { badRequest, clip } from "./errors.ts";

/**
 * `Upstash-Retry-Delay`: an arithmetic expression over `retried` whose value is the backoff in
 * milliseconds. Parsed by a small recursive-descent parser into a tree and evaluated by walking it —
 * never eval/Function. Grammar:
 *   expr   := term (("+" | "-") term)*
 *   term   := unary (("*" | "/") unary)*
 *   unary  := "-" unary | "+" unary | atom
 *   atom   := number | "retried" | func "(" expr ("," expr)* ")" | "(" expr ")"
 */
export type RetryDelayExpression = (retried: number) => number;

type Node =
  | { kind: "num"; value: number }
  | { kind: "var" }
  | { kind: "neg"; arg: Node }
  | { kind: "bin"; op: "+" | "-" | "*" | "/"; left: Node; right: Node }
  | { kind: "call"; fn: FunctionName; args: Node[] };

const FUNCTIONS = {
  pow: { arity: 2, apply: (a: number[]) => Math.pow(a[0] as number, a[1] as number) },
  exp: { arity: 1, apply: (a: number[]) => Math.exp(a[0] as number) },
  sqrt: { arity: 1, apply: (a: number[]) => Math.sqrt(a[0] as number) },
  abs: { arity: 1, apply: (a: number[]) => Math.abs(a[0] as number) },
  floor: { arity: 1, apply: (a: number[]) => Math.floor(a[0] as number) },
  ceil: { arity: 1, apply: (a: number[]) => Math.ceil(a[0] as number) },
  round: { arity: 1, apply: (a: number[]) => Math.round(a[0] as number) },
  min: { arity: 2, apply: (a: number[]) => Math.min(a[0] as number, a[1] as number) },
  max: { arity: 2, apply: (a: number[]) => Math.max(a[0] as number, a[1] as number) },
} as const;
type FunctionName = keyof typeof FUNCTIONS;

const MAX_LENGTH = 512;
const MAX_DEPTH = 32;
const TOKEN = /\s*(?:(\d+(?:\.\d+)?(?:e[+-]?\d+)?)|([a-z_]+)|([-+*/(),]))/iy;

type Token = { type: "num"; value: number } | { type: "id"; value: string } | { type: "op"; value: string };

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < src.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(src);
    if (!m) {
      if (src.slice(at).trim() === "") break;
      throw new Error(`unexpected character at ${at}`);
    }
    if (m[1] !== undefined) tokens.push({ type: "num", value: Number(m[1]) });
    else if (m[2] !== undefined) tokens.push({ type: "id", value: m[2].toLowerCase() });
    else if (m[3] !== undefined) tokens.push({ type: "op", value: m[3] });
  }
  return tokens;
}

class Parser {
  private pos = 0;
  private depth = 0;
  private readonly tokens: Token[];
  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  parse(): Node {
    const node = this.expr();
    if (this.pos !== this.tokens.length) throw new Error("unexpected trailing input");
    return node;
  }

  private peekOp(): string | undefined {
    const t = this.tokens[this.pos];
    return t?.type === "op" ? t.value : undefined;
  }

  private expect(op: string): void {
    if (this.peekOp() !== op) throw new Error(`expected "${op}"`);
    this.pos++;
  }

  private nested<T>(f: () => T): T {
    if (++this.depth > MAX_DEPTH) throw new Error("expression nested too deeply");
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  private expr(): Node {
    return this.nested(() => {
      let left = this.term();
      for (let op = this.peekOp(); op === "+" || op === "-"; op = this.peekOp()) {
        this.pos++;
        left = { kind: "bin", op, left, right: this.term() };
      }
      return left;
    });
  }

  private term(): Node {
    let left = this.unary();
    for (let op = this.peekOp(); op === "*" || op === "/"; op = this.peekOp()) {
      this.pos++;
      left = { kind: "bin", op, left, right: this.unary() };
    }
    return left;
  }

  private unary(): Node {
    const op = this.peekOp();
    if (op === "-" || op === "+") {
      this.pos++;
      const arg = this.nested(() => this.unary());
      return op === "-" ? { kind: "neg", arg } : arg;
    }
    return this.atom();
  }

  private atom(): Node {
    const t = this.tokens[this.pos++];
    if (!t) throw new Error("unexpected end of expression");
    if (t.type === "num") return { kind: "num", value: t.value };
    if (t.type === "op") {
      if (t.value !== "(") throw new Error(`unexpected "${t.value}"`);
      const inner = this.expr();
      this.expect(")");
      return inner;
    }
    if (t.value === "retried") return { kind: "var" };
    if (!Object.hasOwn(FUNCTIONS, t.value)) throw new Error(`unknown name "${t.value}"`);
    const fn = t.value as FunctionName;
    this.expect("(");
    const args = [this.expr()];
    while (this.peekOp() === ",") {
      this.pos++;
      args.push(this.expr());
    }
    this.expect(")");
    if (args.length !== FUNCTIONS[fn].arity) throw new Error(`${fn} takes ${FUNCTIONS[fn].arity} argument(s)`);
    return { kind: "call", fn, args };
  }
}

function evaluate(node: Node, retried: number): number {
  switch (node.kind) {
    case "num":
      return node.value;
    case "var":
      return retried;
    case "neg":
      return -evaluate(node.arg, retried);
    case "bin": {
      const l = evaluate(node.left, retried);
      const r = evaluate(node.right, retried);
      if (node.op === "+") return l + r;
      if (node.op === "-") return l - r;
      if (node.op === "*") return l * r;
      return l / r;
    }
    case "call":
      return FUNCTIONS[node.fn].apply(node.args.map((a) => evaluate(a, retried)));
  }
}

/** Parses the expression once; the returned function gives the delay in ms (never negative or NaN). */
export function compileRetryDelay(source: string): RetryDelayExpression {
  if (source.length > MAX_LENGTH) throw badRequest(`invalid Upstash-Retry-Delay: longer than ${MAX_LENGTH} characters`);
  let tree: Node;
  try {
    tree = new Parser(tokenize(source)).parse();
  } catch (error) {
    throw badRequest(`invalid Upstash-Retry-Delay "${clip(source)}": ${(error as Error).message}`);
  }
  return (retried) => {
    const ms = evaluate(tree, retried);
    // NaN and negatives are 0; anything huge (`4e30`, Infinity) is capped, as a delay must stay an integer-safe time.
    return Number.isNaN(ms) || ms <= 0 ? 0 : Math.min(ms, Number.MAX_SAFE_INTEGER);
  };
}
