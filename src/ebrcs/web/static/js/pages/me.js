// My page: the shopper's past orders, newest first, each with its items and totals.
import { api } from "../api.js";
import { h, moneyText, replace, timeText } from "../dom.js";
import { pluralKey } from "../i18n.js";
import { pageHead } from "../ui.js";

/** An order's lines as a table: product, quantity, unit price, line total. */
export function orderTable(order) {
  return h(
    "table",
    { class: "data" },
    h("thead", {}, h("tr", {}, h("th", { i18n: "bill.product" }), h("th", { class: "num", i18n: "bill.quantity" }), h("th", { class: "num", i18n: "bill.unitPrice" }), h("th", { class: "num", i18n: "bill.lineTotal" }))),
    h(
      "tbody",
      {},
      order.items.map((item) =>
        h(
          "tr",
          {},
          h("td", { text: item.name }),
          h("td", { class: "num", text: String(item.quantity) }),
          h("td", { class: "num" }, moneyText(item.unit_price)),
          h("td", { class: "num" }, moneyText(item.line_total)),
        ),
      ),
    ),
  );
}

function orderCard(order) {
  return h(
    "article",
    { class: "card order", dataset: { orderId: order.id } },
    h(
      "div",
      { class: "order-head" },
      h("div", {}, h("strong", {}, h("a", { href: `/receipt/${order.id}`, dataset: { link: "" } }, timeText(order.confirmed_at))), h("div", { class: "small muted" }, h("span", { i18n: "receipt.order" }), " ", order.id.slice(0, 8))),
      h("div", { class: "row" }, h("span", { class: "badge badge-muted", i18n: pluralKey(order.total_items, "me.itemsOne", "me.itemsOther"), i18nVars: { n: order.total_items } }), h("strong", {}, moneyText(order.total_amount))),
    ),
    h("div", { class: "table-wrap" }, orderTable(order)),
  );
}

export async function render(main) {
  const { orders } = await api("/api/orders?limit=50");
  replace(
    main,
    pageHead("me.title", "me.subtitle"),
    orders.length
      ? h("div", { class: "stack" }, orders.map(orderCard))
      : h("div", { class: "card empty" }, h("p", { i18n: "me.empty" }), h("a", { class: "btn", href: "/checkout", dataset: { link: "" }, i18n: "receipt.next" })),
  );
}
