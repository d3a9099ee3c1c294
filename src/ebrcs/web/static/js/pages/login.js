// Log in or sign up; after logging in, go where the user was headed or to their role's home.
import { api } from "../api.js";
import { h, replace, setText } from "../dom.js";
import * as session from "../session.js";
import { errorText, field, tabList } from "../ui.js";

function input(type, name, autocomplete, extra = {}) {
  return h("input", { type, name, autocomplete, required: true, ...extra });
}

/** Only same-app paths are followed after login (never another site). */
function safeNext() {
  const next = new URLSearchParams(location.search).get("next");
  return next && next.startsWith("/") && !next.startsWith("//") ? next : null;
}

export function render(main, { user, navigate }) {
  if (user) return navigate(session.homeFor(user.role), { replaceState: true });
  const error = h("div", { class: "form-error", role: "alert", hidden: true });
  const showFailure = (message) => {
    delete error.dataset.i18n;
    error.textContent = message;
    error.hidden = false;
  };

  const loginForm = h(
    "form",
    { class: "login-form", "aria-labelledby": "tab-login" },
    field("login.username", input("text", "username", "username", { minLength: 3, maxLength: 50, autofocus: true })),
    field("login.password", input("password", "password", "current-password")),
    h("button", { class: "btn btn-block", type: "submit", i18n: "login.submit" }),
  );
  const signupForm = h(
    "form",
    { class: "signup-form", "aria-labelledby": "tab-signup", hidden: true },
    field("login.username", input("text", "username", "username", { minLength: 3, maxLength: 50, pattern: "[A-Za-z0-9_.\\-]{3,50}" }), "login.usernameHint"),
    field("login.email", h("input", { type: "email", name: "email", autocomplete: "email" }), "login.optional"),
    field("login.password", input("password", "password", "new-password", { minLength: 8, maxLength: 128 }), "login.passwordHint"),
    h("button", { class: "btn btn-block", type: "submit", i18n: "login.createAccount" }),
  );

  async function logIn(username, password) {
    const form = new URLSearchParams({ username, password });
    session.saveToken(await api("/api/auth/login", { method: "POST", form }));
    const me = await api("/api/auth/me");
    session.saveUser(me);
    navigate(safeNext() || session.homeFor(me.role), { replaceState: true });
  }

  loginForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const data = new FormData(loginForm);
    const button = loginForm.querySelector("button");
    button.disabled = true;
    try {
      await logIn(data.get("username"), data.get("password"));
    } catch (failure) {
      if (failure.status === 401 || failure.status === 400) setText(error, "login.failed");
      else if (failure.status === 429) setText(error, "login.throttled");
      else showFailure(errorText(failure));
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  });

  signupForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const data = new FormData(signupForm);
    const body = { username: data.get("username"), password: data.get("password") };
    if (data.get("email")) body.email = data.get("email");
    const button = signupForm.querySelector("button");
    button.disabled = true;
    try {
      await api("/api/auth/signup", { method: "POST", json: body });
      await logIn(body.username, body.password);
    } catch (failure) {
      showFailure(errorText(failure));
    } finally {
      button.disabled = false;
    }
  });

  const tabLogin = h("button", { type: "button", role: "tab", id: "tab-login", "aria-selected": "true", i18n: "login.tabLogin" });
  const tabSignup = h("button", { type: "button", role: "tab", id: "tab-signup", "aria-selected": "false", tabIndex: -1, i18n: "login.tabSignup" });
  const choose = (signup) => {
    loginForm.hidden = signup;
    signupForm.hidden = !signup;
    error.hidden = true;
  };

  replace(
    main,
    h(
      "div",
      { class: "auth-wrap" },
      h(
        "div",
        { class: "auth-hero" },
        h("img", { src: "/static/favicon.svg", alt: "" }),
        h("h1", { i18n: "login.title" }),
        h("p", { class: "muted", i18n: "login.subtitle" }),
      ),
      h(
        "div",
        { class: "card" },
        tabList([tabLogin, tabSignup], (index) => choose(index === 1), "login.account"),
        error,
        loginForm,
        signupForm,
      ),
    ),
  );
}
