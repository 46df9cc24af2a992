// grinlab page: photo upload (POST /api/analyze) and browser camera over a WebSocket (/api/live).
"use strict";
const $ = (id) => document.getElementById(id);

function colourOf(face) {
  if (face.smile_intensity == null) return "#aaa";
  return face.smile_intensity >= 0.5 ? "#3cc850" : "#ff9600";
}

function faceLines(face) {
  const lines = face.track_id != null ? [`#${face.track_id}`] : [];
  for (const p of Object.values(face.predictions)) lines.push(`${p.label.replace(/_/g, " ")} ${p.score.toFixed(2)}`);
  return lines;
}

// Boxes, labels and a smile bar per face; `s` scales image pixels to canvas pixels.
function drawFaces(ctx, faces, s) {
  ctx.lineWidth = 2;
  ctx.font = "13px sans-serif";
  for (const f of faces) {
    const b = f.box, x = b.x * s, y = b.y * s, w = b.w * s, h = b.h * s, c = colourOf(f);
    ctx.strokeStyle = c;
    ctx.strokeRect(x, y, w, h);
    let ty = y - 4;
    for (const line of faceLines(f).reverse()) {
      const tw = ctx.measureText(line).width;
      ty = Math.max(15, ty);
      ctx.fillStyle = c; ctx.fillRect(x, ty - 13, tw + 6, 16);
      ctx.fillStyle = "#fff"; ctx.fillText(line, x + 3, ty);
      ty -= 17;
    }
    if (f.smile_intensity != null) {
      const filled = h * f.smile_intensity;
      ctx.strokeStyle = "#aaa"; ctx.strokeRect(x + w + 3, y, 6, h);
      ctx.fillStyle = c; ctx.fillRect(x + w + 3, y + h - filled, 6, filled);
    }
  }
}

function listFaces(ul, faces) {
  ul.replaceChildren(...faces.map((f) => {
    const li = document.createElement("li");
    const smile = f.predictions.smile ? f.predictions.smile.label : "";
    li.dataset.smile = smile;
    const parts = Object.values(f.predictions).map((p) => `${p.model}: ${p.label} ${p.score.toFixed(2)}`);
    const id = f.track_id != null ? `#${f.track_id} ` : `face ${f.index + 1} `;
    const si = f.smile_intensity != null ? ` · smile intensity ${f.smile_intensity.toFixed(2)}` : "";
    li.textContent = id + parts.join(" · ") + si;
    return li;
  }));
}

function status(el, text, isError) {
  el.textContent = text;
  el.classList.toggle("error", Boolean(isError));
}

async function errorText(response) {
  try { return (await response.json()).error.message; } catch { return `HTTP ${response.status}`; }
}

// -- server info ------------------------------------------------------------------------------
fetch("/api/health").then((r) => r.json()).then((h) => {
  $("server-info").textContent = `grinlab ${h.version} · detector ${h.detector} · models ${h.models.join(", ")}`;
}).catch(() => { $("server-info").textContent = "server not reachable"; });

// -- photo ------------------------------------------------------------------------------------
$("photo-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = $("photo-input").files[0];
  if (!file) { status($("photo-status"), "choose a photo first", true); return; }
  const body = new FormData();
  body.append("image", file);
  status($("photo-status"), "analysing…");
  const t0 = performance.now();
  const response = await fetch("/api/analyze", { method: "POST", body });
  if (!response.ok) { status($("photo-status"), await errorText(response), true); return; }
  const result = await response.json();
  const roundTrip = performance.now() - t0;
  // the server reads pixels as stored (no EXIF rotation), so draw them the same way
  const bitmap = await createImageBitmap(file, { imageOrientation: "none" });
  const canvas = $("photo-canvas");
  const s = Math.min(1, 900 / bitmap.width);
  canvas.width = Math.round(bitmap.width * s);
  canvas.height = Math.round(bitmap.height * s);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  drawFaces(ctx, result.faces, s);
  listFaces($("photo-faces"), result.faces);
  const t = result.timings_ms;
  status($("photo-status"), `${result.faces.length} face(s) · detect ${t.detect.toFixed(1)} ms · classify ` +
    `${t.classify.toFixed(1)} ms · server ${t.total.toFixed(1)} ms · round trip ${roundTrip.toFixed(0)} ms`);
});

// -- camera -----------------------------------------------------------------------------------
const live = { ws: null, stream: null, running: false, sentAt: 0, done: [] };
const grab = document.createElement("canvas");

function sendFrame() {
  const video = $("video");
  if (!live.running || live.ws.readyState !== WebSocket.OPEN || !video.videoWidth) return;
  grab.width = video.videoWidth;
  grab.height = video.videoHeight;
  grab.getContext("2d").drawImage(video, 0, 0);
  grab.toBlob((blob) => {
    if (!blob || !live.running) return;
    live.sentAt = performance.now();
    live.ws.send(blob);
  }, "image/jpeg", 0.85);
}

function showGate(gate) {
  const el = $("gate-state");
  el.dataset.state = gate.state;
  el.textContent = gate.state === "open" ? `open (cooldown ${gate.cooldown_left_s.toFixed(1)} s)` : gate.state;
  $("gate-openings").textContent = `${gate.openings} opening${gate.openings === 1 ? "" : "s"}`;
  $("gate-progress").style.width = `${(gate.state === "open" ? 1 : gate.hold_progress) * 100}%`;
}

function onResult(msg) {
  const now = performance.now();
  live.done.push(now);
  while (live.done.length > 1 && now - live.done[0] > 2000) live.done.shift();
  const fps = live.done.length > 1 ? (live.done.length - 1) / ((now - live.done[0]) / 1000) : 0;
  const r = msg.result, t = r.timings_ms, video = $("video"), overlay = $("overlay");
  overlay.width = video.videoWidth;
  overlay.height = video.videoHeight;
  const ctx = overlay.getContext("2d");
  ctx.clearRect(0, 0, overlay.width, overlay.height);
  drawFaces(ctx, r.faces, 1);
  listFaces($("camera-faces"), r.faces);
  const step = t.follow > 0 ? `follow ${t.follow.toFixed(1)}` : `detect ${t.detect.toFixed(1)}`;
  status($("camera-status"), `${step} · classify ${t.classify.toFixed(1)} · server ${msg.server_ms.toFixed(1)} ms · ` +
    `round trip ${(now - live.sentAt).toFixed(0)} ms · ${fps.toFixed(1)} fps`);
  showGate(msg.gate);
  for (const e of msg.events) {
    const li = document.createElement("li");
    li.textContent = `${new Date(e.wall_time * 1000).toLocaleTimeString()} ${e.event} · face #${e.track_id}` +
      (e.held_ms != null ? ` · held ${(e.held_ms / 1000).toFixed(1)} s` : "") + (e.reason ? ` · ${e.reason}` : "");
    $("gate-events").prepend(li);
  }
}

$("camera-start").addEventListener("click", async () => {
  try {
    live.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  } catch (err) {
    status($("camera-status"), `camera not available: ${err.message}`, true);
    return;
  }
  const video = $("video");
  video.srcObject = live.stream;
  await video.play();
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  live.ws = new WebSocket(scheme + location.host + "/api/live");
  live.running = true;
  live.ws.onopen = sendFrame;
  live.ws.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.type === "result") onResult(msg);
    else status($("camera-status"), msg.message, true);
    sendFrame(); // the next frame only after this reply: the newest frame wins, latency stays flat
  };
  live.ws.onclose = () => { if (live.running) status($("camera-status"), "connection closed", true); stop(); };
  $("camera-start").disabled = true;
  $("camera-stop").disabled = false;
});

function stop() {
  live.running = false;
  if (live.ws && live.ws.readyState === WebSocket.OPEN) live.ws.close();
  if (live.stream) live.stream.getTracks().forEach((t) => t.stop());
  $("camera-start").disabled = false;
  $("camera-stop").disabled = true;
}
$("camera-stop").addEventListener("click", stop);
