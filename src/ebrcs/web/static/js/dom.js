// Building DOM nodes without HTML strings: every piece of text goes through textContent or
// a text node, so names and messages from the server can never become markup.
import { formatDateTime, formatMoney, t } from "./i18n.js";

/**
 * Create an element.
 * props: class, text, i18n (catalogue key), i18nVars, i18nAttrs ({attr: key or [key, vars]}), on{Event}
 * handlers, dataset, and any other key as a DOM property or attribute.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = String(value);
    // Through the CSSOM: the page's Content-Security-Policy refuses style attributes.
    else if (key === "style") el.style.cssText = value;
    else if (key === "i18n") el.dataset.i18n = value;
    else if (key === "i18nVars") el.dataset.i18nVars = JSON.stringify(value);
    else if (key === "i18nAttrs") el.dataset.i18nAttrs = JSON.stringify(value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    // Dates and money follow a language switch like text does.
    else if (key === "datetime") el.dataset.datetime = value;
    else if (key === "money") el.dataset.money = String(value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  if (el.dataset.i18n || el.dataset.i18nAttrs || el.dataset.datetime || el.dataset.money) translateElement(el);
  append(el, children);
  return el;
}

/** Append nodes, strings (as text) and arrays of them; null and false are skipped. */
export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Replace all children of an element. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

/** Set a translated text on an element so that it follows later language switches. */
export function setText(el, key, vars) {
  el.dataset.i18n = key;
  if (vars) el.dataset.i18nVars = JSON.stringify(vars);
  else delete el.dataset.i18nVars;
  translateElement(el);
}

/** Re-translate one element from its data-i18n (and data-datetime / data-money) attributes. */
export function translateElement(el) {
  if (el.dataset.datetime) el.textContent = formatDateTime(el.dataset.datetime);
  if (el.dataset.money) el.textContent = formatMoney(el.dataset.money);
  if (el.dataset.i18n) {
    const vars = el.dataset.i18nVars ? JSON.parse(el.dataset.i18nVars) : undefined;
    el.textContent = t(el.dataset.i18n, vars);
  }
  if (el.dataset.i18nAttrs) {
    // Each attribute is a key, or [key, vars] for text with placeholders.
    for (const [attr, spec] of Object.entries(JSON.parse(el.dataset.i18nAttrs))) {
      const [key, vars] = Array.isArray(spec) ? spec : [spec];
      el.setAttribute(attr, t(key, vars));
    }
  }
}

/** Re-translate every marked element under root (a language switch keeps live pages running). */
export function translateTree(root = document) {
  root.querySelectorAll("[data-i18n], [data-i18n-attrs], [data-datetime], [data-money]").forEach(translateElement);
}

/** A timestamp shown in the current language's format. */
export function timeText(iso, props = {}) {
  return h("time", { dateTime: iso, datetime: iso, ...props });
}

/** An amount shown in the shop's currency and the current language's format. */
export function moneyText(amount, props = {}) {
  return h("span", { ...props, class: `money${props.class ? ` ${props.class}` : ""}`, money: amount ?? "0" });
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** Create an SVG element with attributes; text is set through textContent. */
export function svg(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  if (text !== undefined) el.textContent = String(text);
  return el;
}
