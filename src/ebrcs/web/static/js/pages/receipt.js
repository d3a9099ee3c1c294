// The receipt of a confirmed order.
import { api } from "../api.js";
import { h, moneyText, replace, timeText } from "../dom.js";
import { orderTable } from "./me.js";

export async function render(main, { params: [orderId] }) {
  const order = await api(`/api/orders/${orderId}`);
  replace(
    main,
    h(
      "div",
      { class: "receipt card stack" },
      h("div", { class: "check", "aria-hidden": "true", text: "✓" }),
      h("h1", { class: "center", i18n: "receipt.title" }),
      h("p", { class: "muted center" }, h("span", { i18n: "receipt.order" }), " ", h("code", { text: order.id.slice(0, 8) }), " · ", timeText(order.confirmed_at)),
      h("div", { class: "table-wrap" }, orderTable(order)),
      h("div", { class: "totals" }, h("span", { i18n: "bill.total" }), moneyText(order.total_amount)),
      h("p", { class: "small muted", i18n: "receipt.paid" }),
      h(
        "div",
        { class: "row no-print" },
        h("button", { class: "btn btn-secondary", type: "button", i18n: "receipt.print", onClick: () => window.print() }),
        h("span", { class: "spacer" }),
        h("a", { class: "btn btn-ghost", href: "/me", dataset: { link: "" }, i18n: "nav.me" }),
        h("a", { class: "btn", href: "/checkout", dataset: { link: "" }, i18n: "receipt.next" }),
      ),
    ),
  );
}
