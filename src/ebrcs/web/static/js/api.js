// Talking to /api: bearer token, JSON in and out, errors as ApiError with the server's message
// and its stable code (the app translates the code; the message is the fallback).
import * as session from "./session.js";

export class ApiError extends Error {
  constructor(status, message, code = null) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function errorOf(body, status) {
  return new ApiError(status, detailMessage(body, status), typeof body?.code === "string" ? body.code : null);
}

/** The server's error detail as one readable line (FastAPI validation errors are lists). */
function detailMessage(body, status) {
  const detail = body && body.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((item) => [item.loc?.slice(1).join("."), item.msg].filter(Boolean).join(": ")).join("; ");
  }
  return `HTTP ${status}`;
}

function authHeaders() {
  const value = session.token();
  return value ? { Authorization: `Bearer ${value}` } : {};
}

/** A 401 means the token is gone or expired: log out and go to the login page. */
function onUnauthorised() {
  session.forget();
  if (location.pathname !== "/login") {
    const next = encodeURIComponent(location.pathname + location.search);
    location.assign(`/login?next=${next}`);
  }
}

/**
 * Call the API. options: method, json (body as JSON), form (FormData or URLSearchParams).
 * Resolves to the parsed JSON body (or null for 204); rejects with ApiError.
 */
export async function api(path, { method = "GET", json, form, signal } = {}) {
  const headers = { Accept: "application/json", ...authHeaders() };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form;
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body, signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "network error", "network");
  }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    if (response.status === 401 && headers.Authorization) onUnauthorised();
    throw errorOf(data, response.status);
  }
  return data;
}

/**
 * Upload a form with progress: XMLHttpRequest is the one browser API that reports upload
 * progress. onProgress gets a fraction 0..1.
 */
export function uploadWithProgress(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", path);
    for (const [name, value] of Object.entries(authHeaders())) request.setRequestHeader(name, value);
    request.setRequestHeader("Accept", "application/json");
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    request.addEventListener("load", () => {
      const data = request.responseText ? JSON.parse(request.responseText) : null;
      if (request.status >= 200 && request.status < 300) resolve(data);
      else {
        if (request.status === 401) onUnauthorised();
        reject(errorOf(data, request.status));
      }
    });
    request.addEventListener("error", () => reject(new ApiError(0, "network error", "network")));
    request.send(form);
  });
}

/**
 * Follow a Server-Sent Events stream with the bearer token (EventSource cannot send headers,
 * so the stream is read with fetch). onEvent(name, data) gets each event; resolves when the
 * stream ends; abort with the signal.
 */
export async function followEvents(path, onEvent, signal) {
  const response = await fetch(path, {
    headers: { Accept: "text/event-stream", ...authHeaders() },
    signal,
  });
  if (!response.ok) {
    const text = await response.text();
    throw errorOf(text ? JSON.parse(text) : null, response.status);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const lines = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) lines.push(line.slice(5).replace(/^ /, ""));
      }
      if (lines.length) {
        const raw = lines.join("\n");
        let data = raw;
        try {
          data = JSON.parse(raw);
        } catch {
          // a plain-text event stays a string
        }
        onEvent(name, data);
      }
    }
  }
}

/** Fetch a protected image and give back an object URL an <img> can show. */
export async function imageUrl(path) {
  const response = await fetch(path, { headers: authHeaders() });
  if (!response.ok) throw new ApiError(response.status, `HTTP ${response.status}`);
  return URL.createObjectURL(await response.blob());
}

/** The WebSocket URL for a path on this server, with the token as the handshake credential. */
export function socketUrl(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

/** The first message of a socket: the token travels here, not in the URL (access logs). */
export function socketHello() {
  return JSON.stringify({ token: session.token() || "" });
}
