// UI text: one JSON catalogue per language under /static/i18n/, switchable at any time.
const STORAGE_KEY = "ebrcs.language";
const LANGUAGES = ["en", "ko"];

/** Dispatched on document once a language switch is in force (charts redraw their numbers). */
export const LANGUAGE_CHANGED = "ebrcs:languagechange";

const catalogues = {};
let current = "en";
// The shop's ISO 4217 code, from GET /api/auth/me; every page that shows money needs a login.
let currency = null;

/** The language to start with: the saved choice, else the browser's, else English. */
export function preferredLanguage() {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (LANGUAGES.includes(saved)) return saved;
  return (navigator.language || "").toLowerCase().startsWith("ko") ? "ko" : "en";
}

/** Load a catalogue (once) and make it the current language. */
export async function useLanguage(code) {
  if (!LANGUAGES.includes(code)) code = "en";
  if (!catalogues[code]) {
    const response = await fetch(`/static/i18n/${code}.json`);
    if (!response.ok) throw new Error(`cannot load the ${code} catalogue`);
    catalogues[code] = await response.json();
  }
  current = code;
  localStorage.setItem(STORAGE_KEY, code);
  document.documentElement.lang = code;
  document.dispatchEvent(new Event(LANGUAGE_CHANGED));
  return code;
}

/** The text for a key with {name} placeholders filled in; a missing key is a bug. */
export function t(key, vars) {
  const text = catalogues[current]?.[key];
  if (text === undefined) {
    console.error(`missing text "${key}" for language ${current}`);
    return key;
  }
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in vars ? String(vars[name]) : match));
}

/** The language now in use ("en" or "ko"). */
export function currentLanguage() {
  return current;
}

/** The key for a count: `one` for a singular count in the current language, `other` otherwise. */
export function pluralKey(n, one, other) {
  return new Intl.PluralRules(locale()).select(Number(n)) === "one" ? one : other;
}

/** Show money in the shop's currency (an ISO 4217 code such as "KRW" or "EUR"). */
export function useCurrency(code) {
  currency = code;
}

function locale() {
  return current === "ko" ? "ko-KR" : "en-GB";
}

/** Format a timestamp for the current language. */
export function formatDateTime(iso) {
  return new Date(iso).toLocaleString(locale(), {
    dateStyle: "medium",
    timeStyle: "short",
  });
}

/** Format an amount for display only, rounded to the currency's minor unit; never send it back. */
export function formatMoney(amount) {
  // Intl reads a decimal string exactly, never through a float; arithmetic stays on the server.
  return new Intl.NumberFormat(locale(), { style: "currency", currency }).format(amount ?? "0");
}

/** Format a similarity score (0..1) as a percentage. */
export function formatScore(score) {
  return score === null || score === undefined ? "–" : `${(Number(score) * 100).toFixed(1)}%`;
}
