// A real Chromium for the console's end-to-end tests, driven by playwright-core (its own browser download
// does not work offline): Debian's `chromium` package, or the executable HERALD_CHROMIUM names.
import { execFileSync } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];
const MISSING = "console tests need Chromium: run `sudo apt-get install -y chromium` (or set HERALD_CHROMIUM)";

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function found(): string | undefined {
  const fromEnv = process.env.HERALD_CHROMIUM;
  if (fromEnv) {
    if (!executable(fromEnv)) throw new Error(`${MISSING}: HERALD_CHROMIUM=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  return CANDIDATES.find(executable);
}

function aptGetAvailable(): boolean {
  return existsSync("/usr/bin/apt-get");
}

let installed: string | undefined;

/**
 * The Chromium to drive. When none is installed and this runs as root with apt-get, installs Debian's package
 * once (saying so); otherwise fails with one line that says how to get it. Never skips the tests.
 */
export function chromiumPath(): string {
  if (installed) return installed;
  let path = found();
  if (!path && process.getuid?.() === 0 && aptGetAvailable()) {
    console.log("[console tests] Chromium not found: installing Debian's chromium (apt-get install -y chromium)…");
    try {
      const options = {
        stdio: "inherit" as const,
        timeout: 15 * 60_000,
        env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      };
      execFileSync("apt-get", ["update"], options);
      execFileSync("apt-get", ["install", "-y", "chromium"], options);
    } catch (error) {
      throw new Error(`${MISSING} (apt-get install failed: ${error instanceof Error ? error.message : String(error)})`);
    }
    path = found();
  }
  if (!path) throw new Error(MISSING);
  installed = path;
  return path;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: ["--no-sandbox"] });
}

/** What the page reported: console errors (their text) and uncaught page errors. */
export interface PageProblems {
  consoleErrors: string[];
  pageErrors: string[];
}

export interface ConsolePage {
  page: Page;
  context: BrowserContext;
  problems: PageProblems;
  close(): Promise<void>;
}

/** A fresh browser context (its own sessionStorage) and page that records console and page errors. */
export async function openPage(
  browser: Browser,
  viewport: { width: number; height: number } = { width: 1280, height: 800 },
): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems: PageProblems = { consoleErrors: [], pageErrors: [] };
  page.on("console", (message) => {
    if (message.type() === "error") {
      const { url } = message.location();
      problems.consoleErrors.push(url ? `${message.text()} (${url})` : message.text());
    }
  });
  page.on("pageerror", (error) => problems.pageErrors.push(String(error)));
  // Destructive buttons ask with window.confirm: the user agrees.
  page.on("dialog", (dialog) => void dialog.accept());
  return { page, context, problems, close: () => context.close() };
}

/** A browser for a suite: launched in beforeAll, closed in afterAll (the caller registers both). */
export class SuiteBrowser {
  private browser: Browser | undefined;

  async start(): Promise<void> {
    this.browser = await launchChromium();
  }

  get instance(): Browser {
    if (!this.browser) throw new Error("the browser is not started");
    return this.browser;
  }

  async close(): Promise<void> {
    await this.browser?.close();
    this.browser = undefined;
  }
}
