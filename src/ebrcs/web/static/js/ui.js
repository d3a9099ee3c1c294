// Small pieces shared by the pages: toasts, error messages, page headings, focus keeping.
import { h } from "./dom.js";
import { currentLanguage, t } from "./i18n.js";

const MAX_TOASTS = 3;

/** Show a short message; kind is "info", "add", "remove" or "error". Only the newest few stay. */
export function toast(message, kind = "info", ms = 2600) {
  const box = document.getElementById("toasts");
  const item = h("div", { class: `toast ${kind}`, text: message });
  box.append(item);
  while (box.children.length > MAX_TOASTS) box.firstElementChild.remove();
  setTimeout(() => item.remove(), ms);
  return item;
}

/** Drop every toast (a page change: messages about the last page do not follow to the next). */
export function clearToasts() {
  document.getElementById("toasts").replaceChildren();
}

// The server's stable error codes and the text the app shows for each.
const ERROR_TEXT = {
  bad_request: "error.badRequest",
  not_authenticated: "error.notAuthenticated",
  forbidden: "error.forbidden",
  not_found: "error.notFound",
  method_not_allowed: "error.methodNotAllowed",
  conflict: "error.conflict",
  payload_too_large: "error.payloadTooLarge",
  invalid_input: "error.invalidInput",
  validation_error: "error.validationError",
  too_many_requests: "error.tooManyRequests",
  server_error: "error.serverError",
  body_too_large: "error.bodyTooLarge",
  invalid_credentials: "error.invalidCredentials",
  invalid_token: "error.invalidToken",
  admin_required: "error.adminRequired",
  login_throttled: "error.loginThrottled",
  signup_throttled: "error.signupThrottled",
  invalid_username: "error.invalidUsername",
  invalid_password: "error.invalidPassword",
  invalid_email: "error.invalidEmail",
  username_taken: "error.usernameTaken",
  user_not_found: "error.userNotFound",
  product_not_found: "error.productNotFound",
  image_not_found: "error.imageNotFound",
  photo_not_stored: "error.photoNotStored",
  price_too_high: "error.priceTooHigh",
  image_count: "error.imageCount",
  too_many_photos: "error.tooManyPhotos",
  field_not_nullable: "error.fieldNotNullable",
  image_empty: "error.imageEmpty",
  image_too_large: "error.imageTooLarge",
  image_too_many_pixels: "error.imageTooManyPixels",
  image_too_small: "error.imageTooSmall",
  image_unsupported: "error.imageUnsupported",
  image_unreadable: "error.imageUnreadable",
  session_not_found: "error.sessionNotFound",
  session_not_active: "error.sessionNotActive",
  too_many_open_sessions: "error.tooManyOpenSessions",
  invalid_roi: "error.invalidRoi",
  invalid_control: "error.invalidControl",
  unknown_products: "error.unknownProducts",
  products_not_sold: "error.productsNotSold",
  quantity_out_of_range: "error.quantityOutOfRange",
  product_listed_twice: "error.productListedTwice",
  cart_total_too_large: "error.cartTotalTooLarge",
  cart_empty: "error.cartEmpty",
  order_not_found: "error.orderNotFound",
  video_format: "error.videoFormat",
  video_missing: "error.videoMissing",
  video_too_large: "error.videoTooLarge",
  video_empty: "error.videoEmpty",
  video_undecodable: "error.videoUndecodable",
  video_busy: "error.videoBusy",
  video_task_not_found: "error.videoTaskNotFound",
  unsure_items_open: "error.unsureItemsOpen",
  unsure_item_closed: "error.unsureItemClosed",
  duplicate_product_name: "error.duplicateProductName",
  last_photo: "error.lastPhoto",
  unsure_item_not_found: "error.unsureItemNotFound",
  network: "error.network",
  // The checkout socket's own error messages.
  frame_too_large: "error.frameTooLarge",
  invalid_frame: "error.invalidFrame",
  message_too_large: "error.messageTooLarge",
  invalid_message: "error.invalidMessage",
};
// When a code is unknown to this version of the app: a text by HTTP status.
const STATUS_TEXT = {
  0: "error.network",
  400: "error.badRequest",
  401: "error.notAuthenticated",
  403: "error.forbidden",
  404: "error.notFound",
  409: "error.conflict",
  413: "error.payloadTooLarge",
  422: "error.invalidInput",
  429: "error.tooManyRequests",
};

/** A failure as one sentence in the current language. */
export function errorText(error) {
  const key = ERROR_TEXT[error?.code];
  if (key) return t(key);
  // English is the server's own language: its message says more than a generic text.
  if (error?.message && (currentLanguage() === "en" || error.status === undefined)) return error.message;
  return t(STATUS_TEXT[error.status] ?? "error.serverError");
}

/** Report a failed action to the user. */
export function showError(error) {
  toast(errorText(error), "error", 5000);
}

/** A page heading with an optional subtitle and action buttons. */
export function pageHead(titleKey, subtitleKey, ...actions) {
  return h(
    "div",
    { class: "page-head compact" },
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

/**
 * Rebuild part of a page without losing keyboard focus: the focused element's data-focus
 * key is found again in the new content; if it is gone, the first of `fallbacks` that exists
 * (keys or elements) gets the focus.
 */
export function keepingFocus(container, rebuild, fallbacks = []) {
  const active = document.activeElement;
  const key = container.contains(active) ? active?.dataset?.focus : null;
  rebuild();
  if (!key) return;
  const target = [key, ...fallbacks]
    .map((candidate) => (typeof candidate === "string" ? container.querySelector(`[data-focus="${CSS.escape(candidate)}"]`) : candidate))
    .find((element) => element && element.isConnected && !element.disabled);
  target?.focus();
}

/**
 * A tab list that follows the ARIA pattern: click or arrow keys (Home/End too) choose a tab;
 * only the chosen tab is in the Tab order. onChoose(index) shows the matching panel.
 */
export function tabList(tabs, onChoose, labelKey) {
  const choose = (index, focus) => {
    tabs.forEach((tab, position) => {
      tab.setAttribute("aria-selected", String(position === index));
      tab.tabIndex = position === index ? 0 : -1;
    });
    if (focus) tabs[index].focus();
    onChoose(index);
  };
  tabs.forEach((tab, index) => tab.addEventListener("click", () => choose(index, false)));
  const list = h("div", { class: "tabs", role: "tablist", i18nAttrs: labelKey ? { "aria-label": labelKey } : null }, tabs);
  list.addEventListener("keydown", (event) => {
    const current = tabs.indexOf(document.activeElement);
    if (current < 0) return;
    const next = { ArrowRight: current + 1, ArrowLeft: current - 1, Home: 0, End: tabs.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    choose((next + tabs.length) % tabs.length, true);
  });
  return list;
}
