// Live checkout: camera frames go to the server over a WebSocket at a steady rate; the replies
// (boxes, events, cart, timings) are drawn over the video and fill the cart. A recorded video
// can be uploaded instead, with upload and processing progress.
import { api, followEvents, socketHello, socketUrl, uploadWithProgress } from "../api.js";
import { closeCamera, grab, listCameras, openCamera, toJpeg } from "../camera.js";
import { cartPanel, EMPTY_CART } from "../cart-panel.js";
import { h, replace, setText, timeText } from "../dom.js";
import { formatScore, t } from "../i18n.js";
import { drawOverlay, normalisedPoint } from "../overlay.js";
import { busy, field, pageHead, showError, tabList, toast } from "../ui.js";

const FRAMES_PER_SECOND = 6;
const FRAME_WIDTH = 640;
// At most this many frames wait for a reply; the server keeps only the newest anyway, so more
// would add latency, not throughput.
const MAX_IN_FLIGHT = 2;
const SESSION_KEY = "ebrcs.checkoutSession";
// How many of the shopper's latest sessions are looked at for one to resume.
const RESUME_LOOKBACK = 5;

/** Drop the checkout session this tab was working on (kept across the bill page and reloads). */
export function forgetSession() {
  sessionStorage.removeItem(SESSION_KEY);
}


// Why the server closed the checkout socket, by its close code.
const CLOSE_TEXT = {
  1008: "error.notAuthenticated",
  4000: "checkout.replaced",
  4404: "error.sessionNotFound",
  4409: "error.sessionNotActive",
};

function closeText(event) {
  return t(CLOSE_TEXT[event.code] ?? "checkout.disconnected");
}

/** Why the camera could not be opened, in the shopper's words. */
function cameraText(error) {
  if (error.name === "NotAllowedError") return t("checkout.cameraDenied");
  if (error.name === "NotFoundError" || error.name === "OverconstrainedError") return t("checkout.noCamera");
  return t("checkout.cameraFailed");
}

/** The shopper's open session to carry on with: this tab's, else their most recent active one. */
async function openSession() {
  const remembered = sessionStorage.getItem(SESSION_KEY);
  const sessions = await api(`/api/sessions?limit=${RESUME_LOOKBACK}`);
  const active = sessions.filter((session) => session.status === "active").map((session) => session.session_id);
  const candidates = [...new Set([remembered, ...active].filter(Boolean))];
  for (const id of candidates) {
    try {
      // The single-session read applies idle expiry: a stale "active" one answers expired here.
      const session = await api(`/api/sessions/${id}`);
      if (session.status === "active") return { session, resumed: id !== remembered };
    } catch (error) {
      if (error.status !== 404) throw error;
    }
  }
  forgetSession();
  return { session: null, resumed: false };
}

export function render(main, { navigate }) {
  let sessionId = sessionStorage.getItem(SESSION_KEY);
  let stream = null;
  let socket = null;
  let timer = null;
  let frameSize = null;
  let detections = [];
  let zone = [];
  let drawingZone = false;
  let framesSent = 0;
  let lastAnswered = 0;
  const sentAt = new Map();
  let replyTimes = [];
  let uploadAbort = null;

  const video = h("video", { muted: true, playsInline: true, i18nAttrs: { "aria-label": "checkout.videoLabel" } });
  const canvas = h("canvas", { class: "overlay", "aria-hidden": "true" });
  const placeholder = h("div", { class: "stage-placeholder", i18n: "checkout.placeholder" });
  const stage = h("div", { class: "stage" }, video, canvas, placeholder);

  const cameraSelect = h("select", { name: "camera" }, h("option", { value: "", i18n: "checkout.defaultCamera" }));
  const startButton = h("button", { class: "btn btn-large", type: "button", i18n: "checkout.start" });
  const stopButton = h("button", { class: "btn btn-secondary btn-large", type: "button", i18n: "checkout.stop", disabled: true });
  const zoneButton = h("button", { class: "btn btn-secondary", type: "button", "aria-pressed": "false", i18n: "checkout.drawZone" });
  const saveZoneButton = h("button", { class: "btn btn-secondary", type: "button", i18n: "checkout.saveZone", hidden: true });
  const clearZoneButton = h("button", { class: "btn btn-ghost", type: "button", i18n: "checkout.clearZone" });
  const zoneHint = h("p", { class: "hint", i18n: "checkout.zoneHint", hidden: true });

  const stat = (key) => {
    const value = h("dd", { text: "–" });
    return [h("div", { class: "stat" }, h("dt", { i18n: key }), value), value];
  };
  const [fpsBox, fpsValue] = stat("checkout.fps");
  const [latencyBox, latencyValue] = stat("checkout.latency");
  const [matchBox, matchValue] = stat("checkout.lastMatch");
  const [scoreBox, scoreValue] = stat("checkout.score");
  const droppedValue = h("span", { text: "0" });
  const connection = h("span", { class: "badge badge-muted", i18n: "checkout.offline" });

  const billButton = h("button", { class: "btn btn-block btn-large", type: "button", i18n: "checkout.checkBill", disabled: true });
  const newButton = h("button", { class: "btn btn-ghost btn-small", type: "button", i18n: "checkout.newCheckout" });
  const resumed = h("p", { class: "resumed", role: "status", hidden: true });
  const checkoutPage = h("div", { class: "checkout-page" });
  const cart = cartPanel({ page: checkoutPage, billButton, notice: resumed });

  // Video-file mode.
  const fileInput = h("input", { type: "file", name: "video", accept: "video/mp4,video/quicktime,video/x-msvideo,video/x-matroska,.mp4,.mov,.avi,.mkv" });
  const uploadButton = h("button", { class: "btn", type: "button", i18n: "checkout.upload" });
  const cancelButton = h("button", { class: "btn btn-ghost", type: "button", i18n: "checkout.cancel", hidden: true });
  const uploadProgress = h("progress", { class: "progress", max: 1, value: 0, i18nAttrs: { "aria-label": "checkout.uploadProgress" } });
  const processProgress = h("progress", { class: "progress", max: 1, value: 0, i18nAttrs: { "aria-label": "checkout.processProgress" } });
  const uploadStatus = h("p", { class: "small muted", "aria-live": "polite" });
  const uploadPanel = h(
    "div",
    { class: "stack", hidden: true },
    field("checkout.videoFile", fileInput, "checkout.videoHint"),
    h("div", { class: "row" }, uploadButton, cancelButton),
    h("div", {}, h("span", { class: "label", i18n: "checkout.uploadProgress" }), uploadProgress),
    h("div", {}, h("span", { class: "label", i18n: "checkout.processProgress" }), processProgress),
    uploadStatus,
  );
  const cameraPanel = h(
    "div",
    { class: "scanner" },
    stage,
    h("div", { class: "scan-actions" }, startButton, stopButton),
    newButton,
    h(
      "details",
      { class: "more" },
      h("summary", {}, h("span", { i18n: "checkout.settings" }), h("span", { class: "spacer" }), connection),
      h("div", { class: "row controls" }, field("checkout.camera", cameraSelect)),
      h("div", { class: "row" }, zoneButton, saveZoneButton, clearZoneButton),
      zoneHint,
      h("dl", { class: "stats" }, fpsBox, latencyBox, matchBox, scoreBox),
      h("p", { class: "small muted" }, h("span", { i18n: "checkout.dropped" }), " ", droppedValue),
    ),
  );

  const tabCamera = h("button", { type: "button", role: "tab", "aria-selected": "true", i18n: "checkout.modeCamera" });
  const tabVideo = h("button", { type: "button", role: "tab", "aria-selected": "false", tabIndex: -1, i18n: "checkout.modeVideo" });
  const chooseMode = (videoMode) => {
    cameraPanel.hidden = videoMode;
    uploadPanel.hidden = !videoMode;
    if (videoMode) stop();
  };
  const tabs = tabList([tabCamera, tabVideo], (index) => chooseMode(index === 1), "checkout.mode");

  replace(
    checkoutPage,
    pageHead("checkout.title", "checkout.subtitle"),
    h(
      "div",
      { class: "grid-2" },
      h("section", { class: "card stack scanner-card", i18nAttrs: { "aria-label": "checkout.scanner" } }, tabs, cameraPanel, uploadPanel),
      cart.element,
    ),
  );
  replace(main, checkoutPage);

  // ---- cart ----
  /** Show a cart as the server computed it; a frame without changes carries none. */
  function showCart(next) {
    if (!next) return;
    cart.show(next);
    billButton.disabled = !sessionId || next.items.length + (next.unsure?.length ?? 0) === 0;
  }

  /** Pick up the open session (this tab's or the shopper's latest): its cart and zone. */
  async function loadSession() {
    let found = { session: null, resumed: false };
    try {
      found = await openSession();
    } catch (error) {
      showError(error);
    }
    const { session } = found;
    if (session) {
      sessionId = session.session_id;
      sessionStorage.setItem(SESSION_KEY, sessionId);
      zone = session.roi ?? [];
      showCart(session.cart);
      redraw();
      if (found.resumed) {
        replace(
          resumed,
          h("span", { i18n: "checkout.resumed", i18nVars: { n: session.cart.total_items + (session.cart.unsure?.length ?? 0) } }),
          " ",
          timeText(session.last_active),
        );
        resumed.hidden = false;
      }
    } else {
      sessionId = null;
      showCart(EMPTY_CART);
    }
  }

  async function ensureSession() {
    if (sessionId) return sessionId;
    const created = await api("/api/sessions", { method: "POST" });
    sessionId = created.session_id;
    sessionStorage.setItem(SESSION_KEY, sessionId);
    return sessionId;
  }

  // ---- replies ----
  /** A short pop-up for a counting event ({type, name, score}). */
  function announce(event) {
    if (event.type === "ADD") toast(t("checkout.added", { name: event.name }), "add");
    else if (event.type === "REMOVE") toast(t("checkout.removed", { name: event.name }), "remove");
    else if (event.type === "UNSURE") toast(t("checkout.unsureAdded"), "info");
    else if (event.type === "UNSURE_REMOVED") toast(t("checkout.unsureRemoved"), "remove");
    else if (event.type === "UNRECOGNISED") toast(t("checkout.unrecognised"), "info");
  }

  /** Frames up to this id are answered or were dropped by the server (newest frame wins). */
  function answered(frameId) {
    for (let id = lastAnswered + 1; id <= frameId; id += 1) sentAt.delete(id);
    lastAnswered = Math.max(lastAnswered, frameId);
  }

  function onReply(message) {
    const reply = JSON.parse(message.data);
    const now = performance.now();
    if (reply.frame_id) {
      const sent = sentAt.get(reply.frame_id);
      if (sent !== undefined && reply.type === "frame") latencyValue.textContent = `${Math.round(now - sent)} ms`;
      answered(reply.frame_id);
    }
    if (reply.type === "error") {
      showError({ code: reply.code, message: reply.message });
      return;
    }
    replyTimes.push(now);
    replyTimes = replyTimes.filter((time) => now - time <= 2000);
    fpsValue.textContent = (replyTimes.length / 2).toFixed(1);
    droppedValue.textContent = String(reply.dropped_frames);

    detections = reply.detections.map((detection) => ({
      box: detection.box,
      label: detection.name ? `${detection.name} ${formatScore(detection.score)}` : t("checkout.unknownItem"),
      recognised: Boolean(detection.name),
    }));
    const best = reply.detections.filter((detection) => detection.name).sort((a, b) => b.score - a.score)[0];
    if (best) {
      matchValue.textContent = best.name;
      scoreValue.textContent = formatScore(best.score);
    }
    for (const event of reply.events) {
      announce(event);
      if (event.name) {
        matchValue.textContent = event.name;
        scoreValue.textContent = formatScore(event.score);
      }
    }
    showCart(reply.cart);
    redraw();
  }

  function redraw() {
    drawOverlay(canvas, video, { detections: stream ? detections : [], frameSize, zone, zoneOpen: drawingZone });
  }

  // ---- streaming ----
  async function sendFrame() {
    if (!socket || socket.readyState !== WebSocket.OPEN || !video.videoWidth) return;
    if (framesSent - lastAnswered >= MAX_IN_FLIGHT) return;
    const frame = grab(video, FRAME_WIDTH);
    frameSize = { width: frame.width, height: frame.height };
    const jpeg = await toJpeg(frame);
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    // The server numbers frames from 1 in arrival order; the socket keeps our order.
    framesSent += 1;
    sentAt.set(framesSent, performance.now());
    socket.send(jpeg);
  }

  function connect(id) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(socketUrl(`/api/ws/checkout/${id}`));
      ws.binaryType = "arraybuffer";
      ws.addEventListener(
        "open",
        () => {
          ws.send(socketHello());
          resolve(ws);
        },
        { once: true },
      );
      ws.addEventListener("message", onReply);
      ws.addEventListener("close", (event) => {
        if (socket === ws) {
          socket = null;
          setText(connection, "checkout.offline");
          connection.className = "badge badge-muted";
          if (stream) {
            toast(closeText(event), "error", 5000);
            stop();
          }
        }
        reject(new Error(closeText(event)));
      });
    });
  }

  async function start() {
    try {
      stream = await openCamera(video, cameraSelect.value || undefined);
    } catch (error) {
      toast(cameraText(error), "error", 5000);
      return stop();
    }
    try {
      placeholder.hidden = true;
      await fillCameras();
      const id = await ensureSession();
      socket = await connect(id);
      setText(connection, "checkout.live");
      connection.className = "badge";
      framesSent = 0;
      lastAnswered = 0;
      sentAt.clear();
      // A timer, not requestAnimationFrame: the rate stays steady when the tab is in the
      // background, and the server sees frames evenly spaced.
      timer = setInterval(sendFrame, 1000 / FRAMES_PER_SECOND);
      startButton.disabled = true;
      stopButton.disabled = false;
      // Start is disabled now: the keyboard user lands on Stop, not on the page's top.
      stopButton.focus();
    } catch (error) {
      showError(error);
      stop();
    }
  }

  function stop() {
    const hadFocus = document.activeElement === stopButton;
    clearInterval(timer);
    timer = null;
    const ws = socket;
    socket = null;
    ws?.close(1000, "stopped");
    closeCamera(video, stream);
    stream = null;
    detections = [];
    placeholder.hidden = false;
    startButton.disabled = false;
    stopButton.disabled = true;
    setText(connection, "checkout.offline");
    connection.className = "badge badge-muted";
    redraw();
    if (hadFocus) startButton.focus();
  }

  async function fillCameras() {
    const chosen = cameraSelect.value;
    const cameras = await listCameras();
    replace(
      cameraSelect,
      h("option", { value: "", i18n: "checkout.defaultCamera" }),
      cameras.map((camera, index) => h("option", { value: camera.deviceId, text: camera.label || t("checkout.cameraN", { n: index + 1 }) })),
    );
    cameraSelect.value = cameras.some((camera) => camera.deviceId === chosen) ? chosen : "";
  }

  // ---- zone (ROI) ----
  function setDrawing(on) {
    drawingZone = on;
    if (on) zone = [];
    zoneButton.setAttribute("aria-pressed", String(on));
    canvas.classList.toggle("drawing", on);
    saveZoneButton.hidden = !on;
    zoneHint.hidden = !on;
    redraw();
  }

  canvas.addEventListener("click", (event) => {
    if (!drawingZone) return;
    const point = normalisedPoint(event, video, canvas);
    if (point) zone.push(point);
    saveZoneButton.disabled = zone.length < 3;
    redraw();
  });
  zoneButton.addEventListener("click", () => {
    setDrawing(!drawingZone);
    saveZoneButton.disabled = true;
  });
  saveZoneButton.addEventListener("click", () =>
    busy(saveZoneButton, async () => {
      const id = await ensureSession();
      await api(`/api/sessions/${id}/roi`, { method: "POST", json: { points: zone } });
      setDrawing(false);
      zone = zone.slice();
      redraw();
      toast(t("checkout.zoneSaved"));
    }),
  );
  clearZoneButton.addEventListener("click", () =>
    busy(clearZoneButton, async () => {
      setDrawing(false);
      zone = [];
      redraw();
      if (sessionId) await api(`/api/sessions/${sessionId}/roi`, { method: "DELETE" });
      toast(t("checkout.zoneCleared"));
    }),
  );

  // ---- video file ----
  uploadButton.addEventListener("click", async () => {
    const file = fileInput.files[0];
    if (!file) {
      fileInput.focus();
      return toast(t("checkout.chooseVideo"), "error");
    }
    uploadButton.disabled = true;
    uploadProgress.value = 0;
    processProgress.value = 0;
    setText(uploadStatus, "checkout.uploading");
    try {
      const id = await ensureSession();
      const form = new FormData();
      form.append("video", file);
      const { task_id: taskId } = await uploadWithProgress(`/api/sessions/${id}/video-upload`, form, (fraction) => {
        uploadProgress.value = fraction;
      });
      uploadProgress.value = 1;
      setText(uploadStatus, "checkout.processing");
      cancelButton.hidden = false;
      uploadAbort = new AbortController();
      cancelButton.onclick = () => cancelTask(id, taskId);
      await followEvents(
        `/api/sessions/${id}/video-status?task_id=${encodeURIComponent(taskId)}`,
        (name, data) => onTaskEvent(name, data),
        uploadAbort.signal,
      );
    } catch (error) {
      if (error.name !== "AbortError") showError(error);
    } finally {
      uploadButton.disabled = false;
      cancelButton.hidden = true;
      uploadAbort = null;
      await loadSession();
    }
  });

  /** One status event: progress {frames, total_frames}, events {events, cart}, done {state}. */
  function onTaskEvent(name, data) {
    if (name === "progress") {
      if (data.total_frames) processProgress.value = Math.min(1, data.frames / data.total_frames);
      setText(uploadStatus, "checkout.framesDone", { n: data.frames });
    } else if (name === "events") {
      data.events.forEach(announce);
      showCart(data.cart);
    } else if (name === "done") {
      if (data.state === "done") {
        processProgress.value = 1;
        setText(uploadStatus, "checkout.videoDone");
      } else if (data.state === "cancelled") setText(uploadStatus, "checkout.videoCancelled");
      else showError({ status: 500, message: data.error });
    }
  }

  /** Ask the server to stop the task; the stream then ends with its "done" event. */
  async function cancelTask(id, taskId) {
    try {
      await api(`/api/sessions/${id}/video-tasks/${encodeURIComponent(taskId)}/cancel`, { method: "POST" });
    } catch (error) {
      showError(error);
    }
  }

  // ---- wiring ----
  startButton.addEventListener("click", start);
  stopButton.addEventListener("click", stop);
  billButton.addEventListener("click", () => {
    stop();
    navigate(`/bill/${sessionId}`);
  });
  newButton.addEventListener("click", () =>
    busy(newButton, async () => {
      stop();
      // The old session ends (its cart kept) instead of lingering as an active checkout.
      const old = sessionId;
      forgetSession();
      sessionId = null;
      zone = [];
      resumed.hidden = true;
      showCart(EMPTY_CART);
      if (old) await api(`/api/sessions/${old}`, { method: "DELETE" }).catch(() => {});
      await ensureSession();
      toast(t("checkout.newStarted"));
    }),
  );
  const onResize = () => redraw();
  window.addEventListener("resize", onResize);

  fillCameras().catch(showError);
  redraw();
  loadSession();

  return () => {
    stop();
    cart.stop();
    uploadAbort?.abort();
    window.removeEventListener("resize", onResize);
  };
}
