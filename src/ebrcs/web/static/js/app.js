// The app shell: routes by the address bar path, guards pages by role, keeps nav and language.
import { api, ApiError } from "./api.js";
import { h, replace, translateTree } from "./dom.js";
import { preferredLanguage, useCurrency, useLanguage } from "./i18n.js";
import * as session from "./session.js";
import { clearToasts, errorText } from "./ui.js";

// role: who may open the page (null: anyone, "user": any logged-in user, "admin": admins).
const ROUTES = [
  { pattern: /^\/login$/, page: "login", role: null },
  { pattern: /^\/checkout$/, page: "checkout", role: "user", nav: "nav.checkout" },
  { pattern: /^\/bill\/([\w-]+)$/, page: "bill", role: "user" },
  { pattern: /^\/receipt\/([\w-]+)$/, page: "receipt", role: "user" },
  { pattern: /^\/me$/, page: "me", role: "user", nav: "nav.me" },
  { pattern: /^\/admin\/products$/, page: "admin-products", role: "admin", nav: "nav.products" },
  { pattern: /^\/admin\/dashboard$/, page: "admin-dashboard", role: "admin", nav: "nav.dashboard" },
];
const NAV_PATHS = {
  "nav.checkout": "/checkout",
  "nav.me": "/me",
  "nav.products": "/admin/products",
  "nav.dashboard": "/admin/dashboard",
};

let leavePage = null;

/** Go to a path inside the app without reloading. */
export function navigate(path, { replaceState = false } = {}) {
  if (replaceState) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  render();
}

/** The logged-in user (asked once per token), or null when logged out; sets the shop's currency. */
async function currentUser() {
  if (!session.token()) return null;
  let me = session.user();
  // A user remembered by an older version of the app has no currency: ask again.
  if (!me?.currency) {
    me = await api("/api/auth/me");
    session.saveUser(me);
  }
  useCurrency(me.currency);
  return me;
}

function renderNav(user) {
  const nav = document.getElementById("nav");
  const links = [];
  if (user) {
    const keys = ["nav.checkout", "nav.me"];
    if (user.role === "admin") keys.push("nav.products", "nav.dashboard");
    for (const key of keys) {
      const current = location.pathname === NAV_PATHS[key];
      links.push(
        h("a", { href: NAV_PATHS[key], i18n: key, dataset: { link: "" }, "aria-current": current ? "page" : null }),
      );
    }
  }
  replace(nav, links);
  // On a narrow screen the navigation scrolls sideways: keep the current page's link in view.
  nav.querySelector("[aria-current]")?.scrollIntoView({ block: "nearest", inline: "nearest" });
  const who = document.getElementById("who");
  who.textContent = user ? user.username : "";
  document.getElementById("logout").hidden = !user;
}

// Each render has a number; a render that finished after a newer one started is thrown away,
// so a slow page (waiting for the API) can never cover the page the user went to next.
let generation = 0;

async function render() {
  const mine = ++generation;
  clearToasts();
  if (leavePage) {
    leavePage();
    leavePage = null;
  }
  const main = document.getElementById("main");
  const path = location.pathname.replace(/\/+$/, "") || "/";
  let user;
  try {
    user = await currentUser();
  } catch (error) {
    session.forget();
    user = null;
  }
  if (mine !== generation) return;
  if (path === "/") return navigate(user ? session.homeFor(user.role) : "/login", { replaceState: true });
  const route = ROUTES.find((candidate) => candidate.pattern.test(path));
  if (!route) {
    renderNav(user);
    replace(main, h("div", { class: "card empty" }, h("p", { i18n: "shell.notFound" }), h("a", { href: "/", dataset: { link: "" }, i18n: "shell.home" })));
    return;
  }
  if (route.role && !user) {
    return navigate(`/login?next=${encodeURIComponent(path + location.search)}`, { replaceState: true });
  }
  if (route.role === "admin" && user.role !== "admin") {
    return navigate(session.homeFor(user.role), { replaceState: true });
  }
  renderNav(user);
  const params = path.match(route.pattern).slice(1);
  const module = await import(`./pages/${route.page}.js`);
  const page = h("div", { class: "page" });
  let leave = null;
  try {
    leave = (await module.render(page, { params, user, navigate })) || null;
  } catch (error) {
    // An API refusal (unknown or foreign object) is the page's answer; anything else is a bug
    // the browser tests must see.
    if (!(error instanceof ApiError)) console.error(error);
    replace(
      page,
      h(
        "div",
        { class: "card empty", role: "alert" },
        h("p", { text: errorText(error) }),
        h("a", { class: "btn", href: session.homeFor(user.role), dataset: { link: "" }, i18n: "shell.home" }),
      ),
    );
  }
  if (mine !== generation) {
    leave?.();
    return;
  }
  replace(main, page);
  leavePage = leave;
  (main.querySelector("[autofocus]") || main).focus({ preventScroll: true });
}

function start() {
  const select = document.getElementById("language");
  useLanguage(preferredLanguage()).then((code) => {
    select.value = code;
    translateTree();
    render();
  });
  select.addEventListener("change", async () => {
    await useLanguage(select.value);
    translateTree();
  });
  document.getElementById("logout").addEventListener("click", () => {
    session.forget();
    navigate("/login");
  });
  // Links marked data-link stay inside the app (no reload, the camera keeps running elsewhere).
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-link]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    navigate(link.getAttribute("href"));
  });
  window.addEventListener("popstate", render);
}

start();
