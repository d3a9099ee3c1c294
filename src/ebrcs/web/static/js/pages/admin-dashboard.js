// Admin dashboard: sales per day, top products, recognition health, recent orders.
import { api } from "../api.js";
import { barChart, columnChart } from "../charts.js";
import { h, replace } from "../dom.js";
import { formatDateTime, formatMoney, formatScore, sumMoney, t } from "../i18n.js";
import { pageHead } from "../ui.js";

function kpi(labelKey, value) {
  return h("div", { class: "card kpi" }, h("div", { class: "label small", i18n: labelKey }), h("div", { class: "value", text: value }));
}

/** A short day label (MM-DD) from an ISO date. */
function dayLabel(day) {
  return String(day).slice(5, 10);
}

export async function render(main) {
  const [dashboard, recent] = await Promise.all([api("/api/admin/dashboard"), api("/api/admin/orders?limit=10")]);
  const days = dashboard.sales_per_day ?? dashboard.daily ?? [];
  const top = dashboard.top_products ?? [];
  const health = dashboard.recognition ?? dashboard;
  const orders = recent.items ?? recent;
  const revenue = sumMoney(days.map((day) => day.total_amount ?? day.sales ?? "0"));
  const orderCount = days.reduce((sum, day) => sum + Number(day.orders ?? day.order_count ?? 0), 0);
  const unrecognised = health.unrecognised_share ?? health.unrecognised_ratio ?? null;

  replace(
    main,
    pageHead("dashboard.title", "dashboard.subtitle"),
    h(
      "div",
      { class: "stack" },
      h(
        "div",
        { class: "kpis" },
        kpi("dashboard.revenue30", formatMoney(revenue)),
        kpi("dashboard.orders30", String(orderCount)),
        kpi("dashboard.avgScore", formatScore(health.average_score ?? health.avg_score)),
        kpi("dashboard.unrecognised", unrecognised === null ? "–" : `${(unrecognised * 100).toFixed(1)}%`),
      ),
      h(
        "div",
        { class: "grid-2" },
        h("section", { class: "card chart", "aria-labelledby": "sales-title" }, h("h2", { id: "sales-title", i18n: "dashboard.salesPerDay" }), days.length ? columnChart(days.map((day) => ({ label: dayLabel(day.day ?? day.date), value: Number(day.total_amount ?? day.sales ?? 0) })), { title: t("dashboard.salesPerDay"), format: (value) => Math.round(value).toLocaleString() }) : h("p", { class: "empty", i18n: "dashboard.noSales" })),
        h(
          "section",
          { class: "card stack", "aria-labelledby": "health-title" },
          h("h2", { id: "health-title", i18n: "dashboard.health" }),
          h(
            "dl",
            { class: "stats", style: "grid-template-columns: repeat(2, minmax(0, 1fr))" },
            h("div", { class: "stat" }, h("dt", { i18n: "dashboard.avgScore" }), h("dd", { text: formatScore(health.average_score ?? health.avg_score) })),
            h("div", { class: "stat" }, h("dt", { i18n: "dashboard.unrecognised" }), h("dd", { text: unrecognised === null ? "–" : `${(unrecognised * 100).toFixed(1)}%` })),
            h("div", { class: "stat" }, h("dt", { i18n: "dashboard.activeSessions" }), h("dd", { text: String(dashboard.active_sessions ?? "–") })),
            h("div", { class: "stat" }, h("dt", { i18n: "dashboard.events" }), h("dd", { text: String(health.events ?? health.total_events ?? "–") })),
          ),
        ),
      ),
      h("section", { class: "card chart", "aria-labelledby": "top-title" }, h("h2", { id: "top-title", i18n: "dashboard.topProducts" }), top.length ? barChart(top.map((row) => ({ label: row.name ?? row.product_name, value: Number(row.quantity), note: `${row.quantity} · ${formatMoney(row.revenue)}` })), { title: t("dashboard.topProducts") }) : h("p", { class: "empty", i18n: "dashboard.noSales" })),
      h(
        "section",
        { class: "card", "aria-labelledby": "recent-title" },
        h("h2", { id: "recent-title", i18n: "dashboard.recentOrders" }),
        orders.length
          ? h(
              "div",
              { class: "table-wrap" },
              h(
                "table",
                { class: "data" },
                h("thead", {}, h("tr", {}, h("th", { i18n: "dashboard.when" }), h("th", { i18n: "dashboard.customer" }), h("th", { class: "num", i18n: "dashboard.items" }), h("th", { class: "num", i18n: "bill.total" }))),
                h("tbody", {}, orders.map((order) => h("tr", {}, h("td", { text: formatDateTime(order.confirmed_at) }), h("td", { text: order.username ?? order.user?.username ?? String(order.user_id ?? "").slice(0, 8) }), h("td", { class: "num", text: String(order.total_items) }), h("td", { class: "num money", text: formatMoney(order.total_amount) })))),
              ),
            )
          : h("p", { class: "empty", i18n: "dashboard.noOrders" }),
      ),
    ),
  );
}
