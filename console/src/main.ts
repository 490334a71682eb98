// The console's shell: sign in, the views' navigation (hash routes), sign out.
import { apiClient, probeAccess } from "./api.ts";
import { h, replace } from "./dom.ts";
import { clearSession, loadSession, saveSession, type Session } from "./session.ts";
import { errorText, type ViewContext } from "./ui.ts";
import { dlqView } from "./views/dlq.ts";
import { flowControlView } from "./views/flow-control.ts";
import { keysView } from "./views/keys.ts";
import { logsView, timelineView } from "./views/logs.ts";
import { messagesView } from "./views/messages.ts";
import { publishView } from "./views/publish.ts";
import { queuesView } from "./views/queues.ts";
import { schedulesView } from "./views/schedules.ts";
import { urlGroupsView } from "./views/url-groups.ts";

interface View {
  route: string;
  title: string;
  render: (ctx: ViewContext) => HTMLElement;
}

/** The navigation, named as in the Upstash console's sections. */
const VIEWS: View[] = [
  { route: "messages", title: "Messages", render: messagesView },
  { route: "logs", title: "Logs", render: logsView },
  { route: "dlq", title: "DLQ", render: dlqView },
  { route: "schedules", title: "Schedules", render: schedulesView },
  { route: "queues", title: "Queues", render: queuesView },
  { route: "url-groups", title: "URL Groups", render: urlGroupsView },
  { route: "flow-control", title: "Flow Control", render: flowControlView },
  { route: "publish", title: "Publish", render: publishView },
  { route: "keys", title: "Keys", render: keysView },
];
/** Routes reached from other views; highlighted under their parent. */
const SUBVIEWS: Record<string, { parent: string; render: View["render"]; title: string }> = {
  timeline: { parent: "logs", render: timelineView, title: "Timeline" },
};

const app = document.getElementById("app") as HTMLElement;

function parseHash(): { route: string; params: URLSearchParams } {
  const hash = location.hash.replace(/^#\/?/, "");
  const q = hash.indexOf("?");
  return {
    route: (q < 0 ? hash : hash.slice(0, q)) || "messages",
    params: new URLSearchParams(q < 0 ? "" : hash.slice(q + 1)),
  };
}

function signIn(message?: string): void {
  document.title = "Sign in · Herald Console";
  const error = h("p", { class: "error", role: "alert", hidden: !message }, message ?? "");
  const input = h("input", { id: "token", name: "token", type: "password", required: true, autocomplete: "off" });
  const button = h("button", { type: "submit" }, "Sign in");
  const formElement = h(
    "form",
    {
      class: "sign-in",
      onsubmit: async (event: Event) => {
        event.preventDefault();
        const token = input.value.trim();
        button.disabled = true;
        error.hidden = true;
        try {
          saveSession({ token, access: await probeAccess(token) });
          render();
        } catch (caught) {
          error.textContent = errorText(caught);
          error.hidden = false;
          button.disabled = false;
          input.focus();
        }
      },
    },
    h("h1", {}, "Herald Console"),
    h("p", { class: "muted" }, "Sign in with your Herald token (the deployment's token, or its read-only token)."),
    h("label", { for: "token" }, "Token"),
    input,
    button,
    error,
  );
  replace(app, h("main", { class: "sign-in-page" }, formElement));
  input.focus();
}

/**
 * The notice of an action that then went to another view ("Deleted …", then the list): that view's redraw
 * makes a new status line, which shows it.
 */
let carriedNotice = "";

function shell(session: Session): void {
  const { route, params } = parseHash();
  const sub = SUBVIEWS[route];
  const view = VIEWS.find((candidate) => candidate.route === (sub?.parent ?? route)) ?? (VIEWS[0] as View);
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" }, carriedNotice);
  carriedNotice = "";
  const ctx: ViewContext = {
    api: apiClient(session.token, (error) => {
      clearSession();
      signIn(error.message);
    }),
    canWrite: session.access === "write",
    params,
    navigate: (hash, notice) => {
      // Only the notice given goes along: one left from an earlier action would read as this one's.
      carriedNotice = notice ?? "";
      if (location.hash === hash) render();
      else location.hash = hash;
    },
    notify: (text) => {
      status.textContent = text;
    },
  };
  const title = sub?.title ?? view.title;
  document.title = `${title} · Herald Console`;
  const nav = h(
    "nav",
    { class: "views", "aria-label": "Views" },
    ...VIEWS.map((item) =>
      h("a", { href: `#/${item.route}`, "aria-current": item === view ? "page" : undefined }, item.title),
    ),
  );
  replace(
    app,
    h(
      "header",
      { class: "top" },
      h("a", { class: "brand", href: "#/messages" }, "Herald Console"),
      session.access === "read" ? h("span", { class: "badge" }, "read-only") : null,
      h(
        "button",
        {
          type: "button",
          class: "sign-out",
          onclick: () => {
            clearSession();
            signIn();
          },
        },
        "Sign out",
      ),
    ),
    nav,
    h("main", { id: "main" }, h("h1", {}, title), status, (sub?.render ?? view.render)(ctx)),
  );
}

function render(): void {
  const session = loadSession();
  if (!session) signIn();
  else shell(session);
}

window.addEventListener("hashchange", render);
render();
