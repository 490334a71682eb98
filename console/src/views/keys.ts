// Keys: the signing keys receivers verify with, hidden until revealed, and their rotation.
import { h, replace } from "../dom.ts";
import { actionButton, detailsList, section, type ViewContext } from "../ui.ts";

interface SigningKeys {
  current: string;
  next: string;
}

export function keysView(ctx: ViewContext): HTMLElement {
  if (!ctx.canWrite) {
    return section(
      "Signing keys",
      h("p", { class: "hint" }, "Signing keys need the deployment's token: this one is read-only."),
    );
  }
  const shown = h("div", {});
  const show = (keys: SigningKeys): void =>
    replace(
      shown,
      detailsList([
        ["Current", h("code", { class: "id" }, keys.current)],
        ["Next", h("code", { class: "id" }, keys.next)],
      ]),
    );
  replace(shown, h("p", { class: "muted" }, "Hidden. Receivers verify Upstash-Signature with these keys."));
  return section(
    "Signing keys",
    h(
      "div",
      { class: "toolbar" },
      actionButton("Reveal", async () => show(await ctx.api.call<SigningKeys>("GET", "/v2/keys"))),
      actionButton(
        "Rotate",
        async () => {
          show(await ctx.api.call<SigningKeys>("POST", "/v2/keys/rotate"));
          ctx.notify("Rotated: the next key is now current, and a new next key was made");
        },
        {
          danger: true,
          confirm: "Rotate the signing keys? Receivers must know the new next key before the following rotation.",
        },
      ),
    ),
    shown,
  );
}
