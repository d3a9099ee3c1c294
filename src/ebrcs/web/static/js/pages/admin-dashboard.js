// Admin dashboard: sales per day, top products, recognition health, recent orders.
import { api } from "../api.js";
import { barChart, columnChart, fittedChart } from "../charts.js";
import { h, moneyText, replace, timeText } from "../dom.js";
import { formatMoney, formatScore, t } from "../i18n.js";
import { pageHead } from "../ui.js";

const RECENT_ORDERS = 10;

function kpi(labelKey, value) {
  return h("div", { class: "card kpi" }, h("div", { class: "label small", i18n: labelKey }), h("div", { class: "value" }, value));
}

function share(value) {
  return value === null ? "–" : `${(value * 100).toFixed(1)}%`;
}

function salesChart(perDay) {
  if (!perDay.some((day) => day.orders > 0)) return h("p", { class: "empty", i18n: "dashboard.noSales" });
  // Numbers for the bar heights; formatMoney rounds the labels back to the currency's minor unit.
  const points = perDay.map((day) => ({ label: String(day.day).slice(5), value: Number(day.amount) }));
  return fittedChart((width) => columnChart(points, { width, title: t("dashboard.salesPerDay"), format: formatMoney }));
}

function topChart(top) {
  if (!top.length) return h("p", { class: "empty", i18n: "dashboard.noSales" });
  // The notes are formatted as the chart is drawn, so they follow a language switch.
  const rows = () => top.map((row) => ({ label: row.name, value: row.quantity, note: `${row.quantity} · ${formatMoney(row.revenue)}` }));
  return [fittedChart((width) => barChart(rows(), { width, title: t("dashboard.topProducts") })), h("p", { class: "chart-note", i18n: "dashboard.topLegend" })];
}

function recentOrders(orders, navigate) {
  if (!orders.length) return h("p", { class: "empty", i18n: "dashboard.noOrders" });
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "data" },
      h("thead", {}, h("tr", {}, h("th", { i18n: "dashboard.when" }), h("th", { i18n: "dashboard.customer" }), h("th", { class: "num", i18n: "dashboard.items" }), h("th", { class: "num", i18n: "bill.total" }))),
      h(
        "tbody",
        {},
        orders.map((order) =>
          h(
            "tr",
            { class: "link-row", onClick: () => navigate(`/receipt/${order.id}`) },
            // The link is the keyboard's and screen reader's way in; the whole row answers a tap.
            h("td", {}, h("a", { href: `/receipt/${order.id}`, dataset: { link: "" } }, timeText(order.confirmed_at))),
            h("td", { text: order.username }),
            h("td", { class: "num", text: String(order.total_items) }),
            h("td", { class: "num" }, moneyText(order.total_amount)),
          ),
        ),
      ),
    ),
  );
}

export async function render(main, { navigate }) {
  const [figures, recent] = await Promise.all([api("/api/admin/dashboard"), api(`/api/admin/orders?limit=${RECENT_ORDERS}`)]);
  const stat = (key, value) => h("div", { class: "stat" }, h("dt", { i18n: key }), h("dd", { text: value }));
  replace(
    main,
    pageHead("dashboard.title", "dashboard.subtitle"),
    h(
      "div",
      { class: "stack" },
      h(
        "div",
        { class: "kpis" },
        kpi("dashboard.revenue30", moneyText(figures.total_amount)),
        kpi("dashboard.orders30", String(figures.total_orders)),
        kpi("dashboard.avgScore", formatScore(figures.average_recognition_score)),
        kpi("dashboard.unrecognised", share(figures.unrecognised_share)),
      ),
      h(
        "div",
        { class: "grid-2" },
        h("section", { class: "card chart", "aria-labelledby": "sales-title" }, h("h2", { id: "sales-title", i18n: "dashboard.salesPerDay" }), salesChart(figures.per_day)),
        h(
          "section",
          { class: "card stack", "aria-labelledby": "health-title" },
          h("h2", { id: "health-title", i18n: "dashboard.health" }),
          h(
            "dl",
            { class: "stats stats-2" },
            stat("dashboard.activeSessions", String(figures.active_sessions)),
            stat("dashboard.events", String(figures.recognition_events)),
          ),
        ),
      ),
      h("section", { class: "card chart", "aria-labelledby": "top-title" }, h("h2", { id: "top-title", i18n: "dashboard.topProducts" }), topChart(figures.top_by_quantity)),
      h("section", { class: "card", "aria-labelledby": "recent-title" }, h("h2", { id: "recent-title", i18n: "dashboard.recentOrders" }), recentOrders(recent.orders, navigate)),
    ),
  );
}
