// Bill check: the shopper fixes quantities, removes or adds items, and confirms the order.
import { api } from "../api.js";
import { h, replace } from "../dom.js";
import { formatMoney, formatScore, t } from "../i18n.js";
import { busy, field, pageHead, showError, toast } from "../ui.js";
import { forgetSession } from "./checkout.js";

const SEARCH_DELAY_MS = 250;

export async function render(main, { params: [sessionId], navigate }) {
  let billing = await api(`/api/sessions/${sessionId}/billing`);

  const rows = h("tbody");
  const emptyRow = h("p", { class: "empty", i18n: "bill.empty" });
  const totalItems = h("span", { class: "money" });
  const totalAmount = h("span", { class: "money" });
  const confirmButton = h("button", { class: "btn", type: "button", i18n: "bill.confirm" });
  const search = h("input", { type: "search", name: "search", autocomplete: "off", i18nAttrs: { placeholder: "bill.searchPlaceholder" } });
  const results = h("ul", { class: "results", "aria-live": "polite" });

  /** Send the whole cart as it should be; the server answers the recomputed bill. */
  async function setQuantities(items) {
    billing = await api(`/api/sessions/${sessionId}/billing`, { method: "PUT", json: { items } });
    show();
  }

  function quantitiesWith(productId, quantity) {
    return billing.items.map((item) => ({
      product_id: item.product_id,
      quantity: item.product_id === productId ? quantity : item.quantity,
    }));
  }

  function line(item) {
    const name = item.name;
    const change = (quantity) => (event) => busy(event.currentTarget, () => setQuantities(quantitiesWith(item.product_id, quantity)));
    return h(
      "tr",
      {},
      h("td", {}, h("div", { class: "cart-name", text: name }), h("div", { class: "small muted" }, h("span", { i18n: "bill.match" }), " ", formatScore(item.avg_score))),
      h("td", { class: "num money", text: formatMoney(item.unit_price) }),
      h(
        "td",
        {},
        h(
          "div",
          { class: "qty-control" },
          h("button", { class: "btn btn-secondary btn-icon", type: "button", text: "−", i18nAttrs: { "aria-label": ["bill.less", { name }] }, disabled: item.quantity <= 1, onClick: change(item.quantity - 1) }),
          h("span", { class: "qty", text: String(item.quantity), i18nAttrs: { "aria-label": ["bill.quantityOf", { name }] } }),
          h("button", { class: "btn btn-secondary btn-icon", type: "button", text: "+", i18nAttrs: { "aria-label": ["bill.more", { name }] }, onClick: change(item.quantity + 1) }),
        ),
      ),
      h("td", { class: "num money", text: formatMoney(item.line_total) }),
      h("td", { class: "num" }, h("button", { class: "btn btn-danger btn-small", type: "button", i18n: "bill.remove", onClick: change(0) })),
    );
  }

  function show() {
    replace(rows, billing.items.map(line));
    emptyRow.hidden = billing.items.length > 0;
    totalItems.textContent = String(billing.total_items);
    totalAmount.textContent = formatMoney(billing.total_amount);
    confirmButton.disabled = billing.items.length === 0;
  }

  let searchTimer = null;
  async function runSearch() {
    const query = search.value.trim();
    if (!query) return replace(results);
    const { items: products } = await api(`/api/products?q=${encodeURIComponent(query)}&limit=20`);
    replace(
      results,
      products.length
        ? products.map((product) =>
            h(
              "li",
              {},
              h("span", { text: product.name }),
              h("span", { class: "money muted", text: formatMoney(product.price) }),
              h("button", {
                class: "btn btn-secondary btn-small",
                type: "button",
                i18n: "bill.add",
                onClick: (event) =>
                  busy(event.currentTarget, async () => {
                    billing = await api(`/api/sessions/${sessionId}/billing/items`, { method: "POST", json: { product_id: product.id, quantity: 1 } });
                    show();
                    toast(t("checkout.added", { name: product.name }), "add");
                  }),
              }),
            ),
          )
        : h("li", { class: "muted", i18n: "bill.noResults" }),
    );
  }
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => runSearch().catch(showError), SEARCH_DELAY_MS);
  });

  confirmButton.addEventListener("click", () =>
    busy(confirmButton, async () => {
      const order = await api(`/api/sessions/${sessionId}/billing/confirm`, { method: "POST" });
      forgetSession();
      navigate(`/receipt/${order.order_id}`, { replaceState: true });
    }),
  );

  replace(
    main,
    pageHead("bill.title", "bill.subtitle", h("a", { class: "btn btn-ghost", href: "/checkout", dataset: { link: "" }, i18n: "bill.back" })),
    h(
      "div",
      { class: "grid-2" },
      h(
        "section",
        { class: "card", "aria-labelledby": "bill-items" },
        h("h2", { id: "bill-items", i18n: "bill.items" }),
        h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "data" },
            h("thead", {}, h("tr", {}, h("th", { i18n: "bill.product" }), h("th", { class: "num", i18n: "bill.unitPrice" }), h("th", { class: "center", i18n: "bill.quantity" }), h("th", { class: "num", i18n: "bill.lineTotal" }), h("th", {}, h("span", { class: "visually-hidden", i18n: "bill.actions" })))),
            rows,
          ),
        ),
        emptyRow,
        h("div", { class: "totals" }, h("span", {}, h("span", { i18n: "bill.total" }), " · ", totalItems, " ", h("span", { i18n: "bill.itemsUnit" })), totalAmount),
        h("div", { class: "row actions-end" }, confirmButton),
      ),
      h(
        "section",
        { class: "card", "aria-labelledby": "bill-missing" },
        h("h2", { id: "bill-missing", i18n: "bill.missingTitle" }),
        h("p", { class: "muted small", i18n: "bill.missingHint" }),
        field("bill.search", search),
        results,
      ),
    ),
  );
  show();
}
