// Cameras: list them, open one, grab frames and snapshots from a <video>.

/** Video inputs the browser offers (labels appear once the user allowed camera access). */
export async function listCameras() {
  if (!navigator.mediaDevices?.enumerateDevices) return [];
  const devices = await navigator.mediaDevices.enumerateDevices();
  return devices.filter((device) => device.kind === "videoinput");
}

/** Open a camera (the given one, else the back camera on phones) and show it in the video. */
export async function openCamera(video, deviceId) {
  if (!navigator.mediaDevices?.getUserMedia) throw new Error("camera API unavailable (needs https or localhost)");
  const constraints = deviceId
    ? { deviceId: { exact: deviceId } }
    : { facingMode: "environment", width: { ideal: 960 }, height: { ideal: 720 } };
  const stream = await navigator.mediaDevices.getUserMedia({ video: constraints, audio: false });
  video.srcObject = stream;
  video.muted = true;
  video.playsInline = true;
  await video.play();
  return stream;
}

/** Stop every track of a stream and detach it from the video. */
export function closeCamera(video, stream) {
  stream?.getTracks().forEach((track) => track.stop());
  if (video) video.srcObject = null;
}

/** Draw the current video frame into a canvas no wider than maxWidth; returns the canvas. */
export function grab(video, maxWidth, canvas = document.createElement("canvas")) {
  const scale = Math.min(1, maxWidth / video.videoWidth);
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  return canvas;
}

/** A canvas as a JPEG blob. */
export function toJpeg(canvas, quality = 0.8) {
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("could not encode the frame"))), "image/jpeg", quality);
  });
}
