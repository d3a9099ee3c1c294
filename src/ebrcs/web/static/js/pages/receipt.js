// The receipt of a confirmed order.
import { api } from "../api.js";
import { h, replace } from "../dom.js";
import { formatDateTime, formatMoney } from "../i18n.js";
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
      h("p", { class: "muted center" }, h("span", { i18n: "receipt.order" }), " ", h("code", { text: order.id.slice(0, 8) }), " · ", formatDateTime(order.confirmed_at)),
      orderTable(order),
      h("div", { class: "totals" }, h("span", { i18n: "bill.total" }), h("span", { class: "money", text: formatMoney(order.total_amount) })),
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
