// Drawing over the live video: detection boxes with product names, and the scan zone (ROI).
// Everything is drawn from the JSON replies; no annotated images travel back from the server.

/** Where the video's picture sits inside its element (object-fit: contain letterboxes it). */
export function pictureRect(video, canvas) {
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  const videoWidth = video.videoWidth || 4;
  const videoHeight = video.videoHeight || 3;
  const scale = Math.min(width / videoWidth, height / videoHeight);
  return {
    x: (width - videoWidth * scale) / 2,
    y: (height - videoHeight * scale) / 2,
    width: videoWidth * scale,
    height: videoHeight * scale,
  };
}

/** Size the canvas backing store to its box at the device's pixel ratio; returns its context. */
function prepare(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.round(canvas.clientWidth * ratio);
  const height = Math.round(canvas.clientHeight * ratio);
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const context = canvas.getContext("2d");
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, canvas.clientWidth, canvas.clientHeight);
  return context;
}

/** A normalised point (0..1 of the picture) from a click on the canvas, or null outside it. */
export function normalisedPoint(event, video, canvas) {
  const bounds = canvas.getBoundingClientRect();
  const rect = pictureRect(video, canvas);
  const x = (event.clientX - bounds.left - rect.x) / rect.width;
  const y = (event.clientY - bounds.top - rect.y) / rect.height;
  return x < 0 || x > 1 || y < 0 || y > 1 ? null : [Number(x.toFixed(4)), Number(y.toFixed(4))];
}

/**
 * Draw one reply's detections and the zone.
 * detections: [{box: [x1, y1, x2, y2] in frame pixels, label, score, recognised}];
 * frameSize: {width, height} of the frame the boxes refer to; zone: normalised points.
 */
export function drawOverlay(canvas, video, { detections = [], frameSize, zone = [], zoneOpen = false }) {
  const context = prepare(canvas);
  const rect = pictureRect(video, canvas);
  if (zone.length) {
    context.beginPath();
    zone.forEach(([x, y], index) => {
      const px = rect.x + x * rect.width;
      const py = rect.y + y * rect.height;
      if (index === 0) context.moveTo(px, py);
      else context.lineTo(px, py);
    });
    if (!zoneOpen) context.closePath();
    context.fillStyle = "rgba(94, 184, 174, 0.18)";
    if (!zoneOpen) context.fill();
    context.strokeStyle = "#5eb8ae";
    context.lineWidth = 2;
    context.setLineDash(zoneOpen ? [6, 4] : []);
    context.stroke();
    context.setLineDash([]);
    for (const [x, y] of zone) {
      context.fillStyle = "#ffffff";
      context.beginPath();
      context.arc(rect.x + x * rect.width, rect.y + y * rect.height, 4, 0, Math.PI * 2);
      context.fill();
    }
  }
  if (!frameSize) return;
  const sx = rect.width / frameSize.width;
  const sy = rect.height / frameSize.height;
  context.font = "600 13px system-ui, sans-serif";
  context.textBaseline = "top";
  for (const detection of detections) {
    const [x1, y1, x2, y2] = detection.box;
    const left = rect.x + x1 * sx;
    const top = rect.y + y1 * sy;
    const colour = detection.recognised ? "#2dd4bf" : "#fbbf24";
    context.strokeStyle = colour;
    context.lineWidth = 2.5;
    context.strokeRect(left, top, (x2 - x1) * sx, (y2 - y1) * sy);
    const text = detection.label;
    const width = context.measureText(text).width + 10;
    const labelTop = top - 20 < rect.y ? top : top - 20;
    context.fillStyle = colour;
    context.fillRect(left, labelTop, width, 20);
    context.fillStyle = "#0b1215";
    context.fillText(text, left + 5, labelTop + 3);
  }
}
