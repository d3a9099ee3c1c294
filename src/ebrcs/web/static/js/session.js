// The access token lives in sessionStorage, on purpose:
// - it is not a cookie, so the browser never attaches it by itself and no other site can make
//   requests on the user's behalf (no CSRF surface);
// - it dies with the tab, which suits a shared counter tablet better than localStorage, where a
//   token would outlive the shopper walking away; a reload keeps the user logged in;
// - script on the page can read it, so the app never builds HTML from data and the page is served
//   with a strict Content-Security-Policy (same-origin scripts only).
// Tokens are short-lived (expires_in from the server); an expired one is dropped here.
const TOKEN_KEY = "ebrcs.token";
const USER_KEY = "ebrcs.user";

/** Keep a token answered by POST /api/auth/login. */
export function saveToken({ access_token: token, expires_in: expiresIn }) {
  const expiresAt = Date.now() + Number(expiresIn) * 1000;
  sessionStorage.setItem(TOKEN_KEY, JSON.stringify({ token, expiresAt }));
  sessionStorage.removeItem(USER_KEY);
}

/** The token, or null when there is none or it has expired. */
export function token() {
  const raw = sessionStorage.getItem(TOKEN_KEY);
  if (!raw) return null;
  const { token: value, expiresAt } = JSON.parse(raw);
  if (Date.now() >= expiresAt) {
    forget();
    return null;
  }
  return value;
}

/** Remember who the token belongs to (from GET /api/auth/me) for the navigation. */
export function saveUser(user) {
  sessionStorage.setItem(USER_KEY, JSON.stringify(user));
}

/** The remembered user, or null. */
export function user() {
  const raw = token() && sessionStorage.getItem(USER_KEY);
  return raw ? JSON.parse(raw) : null;
}

/** Log out locally: drop the token and the user. */
export function forget() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
}

/** Where a user lands after logging in. */
export function homeFor(role) {
  return role === "admin" ? "/admin/dashboard" : "/checkout";
}
