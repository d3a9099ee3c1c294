// UI text: one JSON catalogue per language under /static/i18n/, switchable at any time.
const STORAGE_KEY = "ebrcs.language";
const LANGUAGES = ["en", "ko"];

const catalogues = {};
let current = "en";

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

/** Format a timestamp for the current language. */
export function formatDateTime(iso) {
  return new Date(iso).toLocaleString(current === "ko" ? "ko-KR" : "en-GB", {
    dateStyle: "medium",
    timeStyle: "short",
  });
}

/** Format a decimal amount string for display only; arithmetic on money stays on the server. */
export function formatMoney(amount) {
  const [whole, cents = ""] = String(amount ?? "0").split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return t("money", { amount: cents ? `${grouped}.${cents.padEnd(2, "0")}` : grouped });
}

/** Format a similarity score (0..1) as a percentage. */
export function formatScore(score) {
  return score === null || score === undefined ? "–" : `${(Number(score) * 100).toFixed(1)}%`;
}
