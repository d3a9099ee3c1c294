// The live cart beside the camera (a bottom sheet on a phone): photos, lines, prices, the
// running total, and the items the camera counted but could not name for sure.
import { h, moneyText, replace, setText, translateElement } from "./dom.js";
import { pluralKey, t } from "./i18n.js";
import { thumb } from "./photos.js";

/** A cart as the server sends it: named lines, totals, and the open unsure items. */
export const EMPTY_CART = { items: [], total_items: 0, total_amount: "0", unsure: [] };

function namedLine(line, flash) {
  return h(
    "li",
    { class: flash ? "flash" : null, dataset: { productId: line.product_id } },
    thumb(line.name, { productId: line.product_id }),
    h("span", { class: "cart-name", text: line.name }),
    moneyText(line.line_total),
    h("span", { class: "line-sub" }, h("span", { class: "qty", text: `× ${line.quantity}` }), " · ", moneyText(line.unit_price)),
  );
}

function unsureLine(item) {
  const names = item.candidates.slice(0, 2).map((candidate) => candidate.name);
  return h(
    "li",
    { class: "unsure", dataset: { unsureId: item.id } },
    thumb("?", { path: item.crop_url ?? item.candidates[0]?.image_url ?? null }),
    h("span", { class: "cart-name", i18n: "cart.unsure" }),
    h("span", { class: "badge badge-warn", i18n: "cart.toCheck" }),
    h("span", { class: "line-sub", text: names.length ? t("cart.maybe", { names: names.join(" / ") }) : "" }),
  );
}

/**
 * The cart panel. `show(cart)` draws a cart; lines whose quantity changed since the last call
 * flash. The panel's height is published as --sheet-height on `page` so the page can scroll
 * its last controls above the sheet on a phone.
 */
export function cartPanel({ page, billButton, notice }) {
  const previous = new Map();
  const list = h("ul", { class: "cart-list", "aria-live": "polite", i18nAttrs: { "aria-label": "checkout.cart" } });
  const empty = h("p", { class: "empty small", i18n: "checkout.cartEmpty" });
  const count = h("span", { class: "badge", text: "0" });
  const unsureCount = h("span", { class: "badge badge-warn", hidden: true });
  const total = moneyText("0", { class: "cart-total-amount" });
  const toggle = h("button", { class: "btn btn-ghost btn-small cart-toggle", type: "button", "aria-expanded": "false", i18n: "cart.expand" });
  const element = h(
    "section",
    { class: "card cart-panel", "aria-labelledby": "cart-title" },
    h("div", { class: "cart-head" }, h("h2", { id: "cart-title", i18n: "checkout.cart" }), count, unsureCount, h("span", { class: "spacer" }), toggle),
    notice,
    empty,
    list,
    h("div", { class: "cart-total" }, h("span", { i18n: "bill.total" }), total),
    billButton,
  );
  toggle.addEventListener("click", () => {
    const expanded = element.classList.toggle("expanded");
    toggle.setAttribute("aria-expanded", String(expanded));
    setText(toggle, expanded ? "cart.collapse" : "cart.expand");
  });
  const resize = new ResizeObserver(() => page.style.setProperty("--sheet-height", `${element.offsetHeight + 16}px`));
  resize.observe(element);

  function show(cart) {
    const unsure = cart.unsure ?? [];
    replace(
      list,
      unsure.map(unsureLine),
      cart.items.map((line) => namedLine(line, previous.get(line.product_id) !== line.quantity)),
    );
    previous.clear();
    cart.items.forEach((line) => previous.set(line.product_id, line.quantity));
    empty.hidden = cart.items.length + unsure.length > 0;
    count.textContent = String(cart.total_items);
    unsureCount.hidden = unsure.length === 0;
    setText(unsureCount, pluralKey(unsure.length, "cart.unsureCountOne", "cart.unsureCountOther"), { n: unsure.length });
    total.dataset.money = String(cart.total_amount);
    translateElement(total);
  }

  return { element, show, stop: () => resize.disconnect() };
}
