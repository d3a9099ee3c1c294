// Bill check: the shopper names the items the camera was unsure of, fixes quantities, removes
// or adds items, and confirms. A bill whose checkout has ended is shown read-only.
import { api } from "../api.js";
import { h, moneyText, replace, translateElement } from "../dom.js";
import { pluralKey, t } from "../i18n.js";
import { thumb } from "../photos.js";
import { pickProduct } from "../picker.js";
import { keepingFocus, pageHead, showError, toast } from "../ui.js";
import { forgetSession } from "./checkout.js";

/** A line the shopper entered by hand has no recognition score (the server's UNSCORED). */
const BY_HAND = 0;

export async function render(main, { params: [sessionId], navigate }) {
  const session = await api(`/api/sessions/${sessionId}`);
  if (session.status === "completed") return renderPaid(main, session);
  // A checkout that timed out keeps its cart: it can still be paid for, and its unsure items
  // named, but its lines no longer change.
  const locked = session.status !== "active";
  let billing = withUnsure(session.cart);
  // One change at a time; buttons stay enabled (a disabled button drops the keyboard focus).
  let pending = false;

  const unsureBox = h("div", { class: "unsure-list" });
  const lines = h("ul", { class: "bill-lines", i18nAttrs: { "aria-label": "bill.items" } });
  const empty = h("p", { class: "empty", i18n: "bill.empty" });
  const totalItems = h("span");
  const totalAmount = moneyText("0");
  const addButton = h("button", { class: "btn btn-secondary btn-block", type: "button", i18n: "bill.addItem", dataset: { focus: "add" } });
  const confirmButton = h("button", { class: "btn btn-block btn-large", type: "button", i18n: "bill.confirm", dataset: { focus: "confirm" } });
  addButton.hidden = locked;
  const card = h(
    "section",
    { class: "card", "aria-labelledby": "bill-items" },
    locked ? h("p", { class: "notice warn", role: "status", i18n: "bill.timedOut" }) : null,
    h("h2", { id: "bill-items", i18n: "bill.items" }),
    unsureBox,
    lines,
    empty,
    addButton,
    h(
      "div",
      { class: "bill-actions" },
      h("div", { class: "totals" }, h("span", {}, h("span", { i18n: "bill.total" }), " · ", totalItems), totalAmount),
      h("div", { class: "row actions-end" }, confirmButton),
    ),
  );

  /** Run one change of the bill; the server answers the recomputed bill. */
  async function change(request, { done } = {}) {
    if (pending) return;
    pending = true;
    try {
      billing = withUnsure(await request());
      show();
      done?.();
    } catch (error) {
      showError(error);
    } finally {
      pending = false;
    }
  }

  const setQuantities = (items) => () => api(`/api/sessions/${sessionId}/billing`, { method: "PUT", json: { items } });

  function quantitiesWith(productId, quantity) {
    return billing.items.map((item) => ({
      product_id: item.product_id,
      quantity: item.product_id === productId ? quantity : item.quantity,
    }));
  }

  function line(item, index) {
    const name = item.name;
    const key = (what) => `line:${item.product_id}:${what}`;
    const atOne = item.quantity <= 1;
    const less = h("button", {
      class: "btn btn-secondary btn-icon",
      type: "button",
      text: "−",
      "aria-disabled": atOne ? "true" : null,
      dataset: { focus: key("less") },
      i18nAttrs: { "aria-label": ["bill.less", { name }] },
      onClick: () => atOne || change(setQuantities(quantitiesWith(item.product_id, item.quantity - 1))),
    });
    const more = h("button", {
      class: "btn btn-secondary btn-icon",
      type: "button",
      text: "+",
      dataset: { focus: key("more") },
      i18nAttrs: { "aria-label": ["bill.more", { name }] },
      onClick: () => change(setQuantities(quantitiesWith(item.product_id, item.quantity + 1))),
    });
    // After a removal the next line's Remove (else the previous one's, else Add) takes the focus.
    const neighbour = billing.items[index + 1] ?? billing.items[index - 1];
    const remove = h("button", {
      class: "btn btn-danger btn-small",
      type: "button",
      i18n: "bill.remove",
      dataset: { focus: key("remove"), fallback: neighbour ? `line:${neighbour.product_id}:remove` : "add" },
      i18nAttrs: { "aria-label": ["bill.removeNamed", { name }] },
      onClick: () => change(setQuantities(quantitiesWith(item.product_id, 0))),
    });
    return h(
      "li",
      { class: "bill-line", dataset: { productId: item.product_id } },
      thumb(name, { productId: item.product_id }),
      h(
        "div",
        { class: "line-info" },
        h("div", { class: "cart-name", text: name }),
        h(
          "div",
          { class: "small muted" },
          moneyText(item.unit_price),
          " ",
          h("span", { i18n: "bill.each" }),
          item.avg_score === BY_HAND ? h("span", {}, " · ", h("span", { i18n: "bill.byHand" })) : null,
        ),
      ),
      moneyText(item.line_total, { class: "line-total" }),
      locked
        ? h("div", { class: "line-controls small muted", text: `× ${item.quantity}` })
        : h(
            "div",
            { class: "line-controls" },
            h("div", { class: "qty-control" }, less, h("span", { class: "qty", text: String(item.quantity), i18nAttrs: { "aria-label": ["bill.quantityOf", { name }] } }), more),
            h("span", { class: "spacer" }),
            remove,
          ),
    );
  }

  /** One item the camera counted but could not name for sure: tap its product, or dismiss it. */
  function unsureCard(item, index) {
    const next = billing.unsure[index + 1];
    const fallback = next ? `unsure:${next.id}:first` : "confirm";
    const resolve = (productId) =>
      change(() => api(`/api/sessions/${sessionId}/unsure/${item.id}/resolve`, { method: "POST", json: { product_id: productId } }));
    const candidates = item.candidates.map((candidate, position) =>
      h(
        "li",
        {},
        h(
          "button",
          {
            class: "tile",
            type: "button",
            dataset: { focus: position === 0 ? `unsure:${item.id}:first` : `unsure:${item.id}:${candidate.product_id}`, fallback },
            onClick: () => resolve(candidate.product_id),
          },
          thumb(candidate.name, { path: candidate.image_url }),
          h("span", { class: "tile-name", text: candidate.name }),
          moneyText(candidate.unit_price, { class: "tile-price" }),
        ),
      ),
    );
    const noneButton = h("button", {
      class: "btn btn-secondary",
      type: "button",
      i18n: "bill.noneOfThese",
      dataset: { focus: candidates.length ? `unsure:${item.id}:none` : `unsure:${item.id}:first`, fallback },
      onClick: async (event) => {
        const product = await pickProduct({ titleKey: "picker.whichTitle", opener: event.currentTarget });
        if (product) resolve(product.id);
      },
    });
    const dismissButton = h("button", {
      class: "btn btn-ghost",
      type: "button",
      i18n: "bill.dismiss",
      dataset: { focus: `unsure:${item.id}:dismiss`, fallback },
      onClick: () => change(() => api(`/api/sessions/${sessionId}/unsure/${item.id}/dismiss`, { method: "POST" })),
    });
    return h(
      "article",
      { class: "unsure-card", dataset: { unsureId: item.id }, "aria-labelledby": `unsure-${item.id}` },
      h(
        "div",
        { class: "unsure-head" },
        thumb("?", { path: item.crop_url }),
        h("div", {}, h("h3", { id: `unsure-${item.id}`, i18n: "bill.unsureTitle" }), h("p", { class: "small muted", i18n: "bill.unsureHint" })),
      ),
      candidates.length ? h("ul", { class: "candidates", i18nAttrs: { "aria-label": "bill.candidates" } }, candidates) : null,
      h("div", { class: "row" }, noneButton, dismissButton),
    );
  }

  function show() {
    keepingFocus(main, () => {
      replace(unsureBox, billing.unsure.map(unsureCard));
      replace(lines, billing.items.map(line));
    }, fallbackOf(document.activeElement));
    empty.hidden = billing.items.length + billing.unsure.length > 0;
    replace(totalItems, h("span", { i18n: pluralKey(billing.total_items, "bill.itemsOne", "bill.itemsOther"), i18nVars: { n: billing.total_items } }));
    totalAmount.dataset.money = String(billing.total_amount);
    translateElement(totalAmount);
  }

  addButton.addEventListener("click", async () => {
    const product = await pickProduct({ titleKey: "picker.addTitle", opener: addButton });
    if (!product) return;
    await change(() => api(`/api/sessions/${sessionId}/billing/items`, { method: "POST", json: { product_id: product.id, quantity: 1 } }), {
      done: () => toast(t("checkout.added", { name: product.name }), "add"),
    });
  });

  confirmButton.addEventListener("click", async () => {
    if (pending) return;
    pending = true;
    try {
      const order = await api(`/api/sessions/${sessionId}/billing/confirm`, { method: "POST" });
      forgetSession();
      navigate(`/receipt/${order.order_id}`, { replaceState: true });
    } catch (error) {
      showError(error);
      // Refused while an item is still unsure: take the shopper to it.
      if (error.code === "unsure_items_open") unsureBox.querySelector("button")?.focus();
    } finally {
      pending = false;
    }
  });

  replace(
    main,
    h(
      "div",
      { class: "bill-page" },
      pageHead("bill.title", "bill.subtitle", h("a", { class: "btn btn-ghost", href: "/checkout", dataset: { link: "" }, i18n: "bill.back" })),
      card,
    ),
  );
  show();
}

/** A cart from the server with its list of unsure items (empty when the server sends none). */
function withUnsure(cart) {
  return { ...cart, unsure: cart.unsure ?? [] };
}

/** Where the focus goes when the focused control disappears with its line or item. */
function fallbackOf(element) {
  return element?.dataset?.fallback ? [element.dataset.fallback, "add"] : ["add"];
}

/** A paid checkout: its lines, no controls, and the way to its receipt. */
async function renderPaid(main, session) {
  const { orders } = await api(`/api/orders?session_id=${session.session_id}&limit=1`);
  const notice = h(
    "div",
    { class: "notice", role: "status" },
    h("p", { i18n: "bill.paid" }),
    orders.length ? h("a", { class: "btn", href: `/receipt/${orders[0].id}`, dataset: { link: "" }, i18n: "bill.seeReceipt" }) : null,
  );
  const cart = session.cart;
  const lines = cart.items.map((item) =>
    h(
      "li",
      { class: "bill-line" },
      thumb(item.name, { productId: item.product_id }),
      h("div", { class: "line-info" }, h("div", { class: "cart-name", text: item.name }), h("div", { class: "small muted", text: `× ${item.quantity}` })),
      moneyText(item.line_total, { class: "line-total" }),
    ),
  );
  replace(
    main,
    h(
      "div",
      { class: "bill-page" },
      pageHead("bill.title", null),
      h(
        "section",
        { class: "card stack", "aria-labelledby": "bill-items" },
        notice,
        h("h2", { id: "bill-items", i18n: "bill.items" }),
        h("ul", { class: "bill-lines", i18nAttrs: { "aria-label": "bill.items" } }, lines),
        h("div", { class: "totals" }, h("span", { i18n: "bill.total" }), moneyText(cart.total_amount)),
      ),
    ),
  );
}
