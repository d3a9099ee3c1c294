// Small pieces shared by the pages: toasts, error messages, page headings.
import { h } from "./dom.js";
import { t } from "./i18n.js";

/** Show a short message in the corner; kind is "info", "add", "remove" or "error". */
export function toast(message, kind = "info", ms = 2600) {
  const box = document.getElementById("toasts");
  const item = h("div", { class: `toast ${kind}`, text: message });
  box.append(item);
  setTimeout(() => item.remove(), ms);
  return item;
}

/** Report a failed action to the user; the message comes from the server when it has one. */
export function showError(error) {
  const message = error && error.message ? error.message : String(error);
  toast(t("error.prefix", { message }), "error", 5000);
}

/** A page heading with an optional subtitle and action buttons. */
export function pageHead(titleKey, subtitleKey, ...actions) {
  return h(
    "div",
    { class: "page-head" },
    h("div", {}, h("h1", { i18n: titleKey }), subtitleKey ? h("p", { i18n: subtitleKey }) : null),
    actions.length ? h("div", { class: "row" }, actions) : null,
  );
}

/** A labelled form field; the input gets an id so the label points at it. */
let fieldCounter = 0;
export function field(labelKey, input, hintKey) {
  input.id ||= `field-${++fieldCounter}`;
  return h(
    "div",
    { class: "field" },
    h("label", { for: input.id, i18n: labelKey }),
    input,
    hintKey ? h("span", { class: "hint", i18n: hintKey }) : null,
  );
}

/** Run an async action with a button disabled meanwhile; errors become a toast. */
export async function busy(button, action) {
  button.disabled = true;
  try {
    return await action();
  } catch (error) {
    showError(error);
    return undefined;
  } finally {
    button.disabled = false;
  }
}
