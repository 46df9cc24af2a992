"""The HTTP API and the browser page.

    GET  /                 the page: upload a photo, or stream the browser's camera
    GET  /api/health       status, models, busy workers
    GET  /api/models       the models this server runs (name, task, labels, size, metrics)
    POST /api/analyze      multipart field ``image`` -> JSON, one record per face (the CLI's JSONL schema)
    POST /api/annotate     multipart field ``image`` -> the annotated JPEG
    WS   /api/live         binary JPEG frames in, one JSON result per frame out: tracked ids,
                           smoothed labels, latency and the smile gate's state (one gate per connection)
    GET  /openapi.json     the OpenAPI schema (/docs renders it where the browser can reach a CDN)

Limits: uploads over ``max_upload_bytes`` get 413 before the body is read (Content-Length) or as
soon as it passes the limit (chunked); images over ``max_pixels`` 413; a request that is not
multipart, or a part that is not JPEG/PNG/WebP/BMP, 415; an undecodable image 422. At most
``workers`` analyses run at once (each worker owns an Analyzer: YuNet's OpenCV detector is not
thread-safe); at most ``max_pending`` requests wait for one, and a request that waits longer than
``queue_timeout_s`` gets 503 with Retry-After. An upload body that has not arrived whole within
``upload_timeout_s`` gets 408 (slow-loris clients do not hold the server); a live session idle, or
not reading its replies, for ``live_idle_timeout_s`` is closed (code 1001), freeing its slot. A text
frame on /api/live other than ``{"type": "reset"}`` gets an error message. Every error is JSON
``{"error": {"code", "message"}}``.
Clients never name files on the server: images arrive as bytes, models are fixed at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import threading
import time
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import cv2
from fastapi import FastAPI, File, UploadFile, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from .. import __version__
from ..errors import GrinlabError
from ..gate import GateOptions, SmileGate
from ..io.drawing import draw_frame
from ..io.images import ImageTooLarge, decode_image
from ..live import LivePipeline
from ..pipeline import Analyzer, AnalyzerOptions
from ..shipped import model_size_bytes
from ..track import FaceTracker
from .schemas import ErrorOut, FrameOut, HealthOut, ModelOut

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
ACCEPTED_TYPES = ("image/jpeg", "image/png", "image/webp", "image/bmp")
UPLOAD_PATHS = ("/api/analyze", "/api/annotate")
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the image


@dataclass(frozen=True)
class ServeOptions:
    analyzer: AnalyzerOptions = field(default_factory=AnalyzerOptions)
    gate: GateOptions = field(default_factory=GateOptions)
    max_upload_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 25_000_000
    workers: int = 2
    max_pending: int = 32
    queue_timeout_s: float = 10.0
    max_live_sessions: int = 4
    detect_every: int = 1
    # a client has this long to send a whole upload (a slow-loris body gets 408 and its connection
    # is closed); a live session that sends nothing, or reads none of its replies, for this long
    # is closed, so such clients cannot hold the upload slots or the live sessions
    upload_timeout_s: float = 20.0
    live_idle_timeout_s: float = 30.0

    def __post_init__(self):
        if self.workers < 1 or self.max_pending < 1 or self.max_live_sessions < 1:
            raise GrinlabError("workers, max_pending and max_live_sessions must be at least 1")
        if self.max_upload_bytes < 1024 or self.max_pixels < 64 * 64:
            raise GrinlabError("max_upload_bytes must be at least 1024 and max_pixels at least 4096")
        if self.upload_timeout_s <= 0 or self.live_idle_timeout_s <= 0:
            raise GrinlabError("upload_timeout_s and live_idle_timeout_s must be positive")


class Busy(Exception):
    pass


class AnalyzerPool:
    """``workers`` Analyzers lent one request (or one live frame) at a time."""

    def __init__(self, options: AnalyzerOptions, size: int):
        self._free: queue.Queue[Analyzer] = queue.Queue()
        self.all = [Analyzer(options) for _ in range(size)]
        for a in self.all:
            self._free.put(a)

    @contextmanager
    def borrow(self, timeout_s: float):
        try:
            analyzer = self._free.get(timeout=timeout_s)
        except queue.Empty:
            raise Busy from None
        try:
            yield analyzer
        finally:
            self._free.put(analyzer)

    @property
    def busy(self) -> int:
        return len(self.all) - self._free.qsize()

    def close(self) -> None:
        for a in self.all:
            a.close()


def _control_message(text: str) -> str | None:
    """The "type" of a JSON text frame ({"type": "reset"}), or None for anything else."""
    try:
        message = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return None
    return message.get("type") if isinstance(message, dict) and isinstance(message.get("type"), str) else None


def error_response(code: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=code, headers=headers)


class UploadGuard:
    """ASGI middleware for the upload routes: 415 unless multipart, 413 for bodies over the limit
    (by Content-Length up front, or as soon as a body passes it), 408 for a body that does not
    arrive whole within ``timeout_s``. The body is read here, so the app never waits on a client."""

    def __init__(self, app, max_body: int, timeout_s: float = 20.0):
        self.app = app
        self.max_body = max_body
        self.timeout_s = timeout_s

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] not in UPLOAD_PATHS or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if not headers.get("content-type", "").lower().startswith("multipart/form-data"):
            return await error_response(415, "send the image as multipart/form-data in a field named 'image' "
                                        "(curl -F image=@photo.jpg)")(scope, receive, send)  # fmt: skip
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            return await self._too_large(scope, receive, send)
        body = bytearray()  # read it up to the limit, against the clock, before the app sees any
        deadline = asyncio.get_running_loop().time() + self.timeout_s
        while True:
            left = deadline - asyncio.get_running_loop().time()
            try:
                message = await asyncio.wait_for(receive(), timeout=max(left, 0.001))
            except asyncio.TimeoutError:
                return await error_response(
                    408, f"the upload did not arrive within {self.timeout_s:g} s", {"Connection": "close"}
                )(scope, receive, send)
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_body:
                return await self._too_large(scope, receive, send)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, scope, receive, send):
        mb = (self.max_body - MULTIPART_OVERHEAD) / 1024 / 1024
        await error_response(413, f"upload too large: the limit is {mb:.1f} MB per image")(
            scope, receive, send
        )


ERRORS = {c: {"model": ErrorOut} for c in (400, 413, 415, 422, 503)}
ImageUpload = Annotated[UploadFile, File(description="a JPEG, PNG, WebP or BMP image")]


def create_app(options: ServeOptions | None = None) -> FastAPI:
    options = options or ServeOptions()
    pool = AnalyzerPool(options.analyzer, options.workers)
    state = {"pending": 0, "live_sessions": 0}
    lock = threading.Lock()

    @asynccontextmanager
    async def lifespan(app):
        yield
        pool.close()

    app = FastAPI(
        lifespan=lifespan,
        title="grinlab",
        version=__version__,
        description="Smile and facial-expression recognition: every face in an image, or live from a camera.",
    )
    app.state.pool = pool
    app.add_middleware(
        UploadGuard,
        max_body=options.max_upload_bytes + MULTIPART_OVERHEAD,
        timeout_s=options.upload_timeout_s,
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(HTTPException)
    async def http_error(request, exc: HTTPException):
        return error_response(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return error_response(422, f"{where}: {first.get('msg', 'invalid request')}")

    @app.exception_handler(Exception)
    async def server_error(request, exc: Exception):
        log.exception("internal error on %s", request.url.path)
        return error_response(500, "internal error; the server log has the details")

    async def read_upload(image: UploadFile) -> tuple[bytes, str]:
        ctype = (image.content_type or "").split(";")[0].strip().lower()
        if ctype not in ACCEPTED_TYPES:
            raise HTTPException(
                415, f"unsupported image type {ctype or 'none'!r}; send one of {', '.join(ACCEPTED_TYPES)}"
            )
        data = await image.read(options.max_upload_bytes + 1)
        if len(data) > options.max_upload_bytes:
            raise HTTPException(
                413, f"upload too large: the limit is {options.max_upload_bytes / 1024 / 1024:.1f} MB"
            )
        if not data:
            raise HTTPException(422, "the image is empty (0 bytes)")
        name = Path(image.filename or "upload").name[:200]  # only ever a label, never opened
        return data, name

    def analyze_bytes(data: bytes, name: str):
        try:
            img = decode_image(data, name, options.max_pixels)
        except ImageTooLarge as exc:
            raise HTTPException(413, str(exc)) from None
        except GrinlabError as exc:
            raise HTTPException(422, str(exc)) from None
        try:
            with pool.borrow(options.queue_timeout_s) as analyzer:
                return img, analyzer.analyze(img, source=name)
        except Busy:
            raise HTTPException(503, "all workers are busy; retry shortly", {"Retry-After": "1"}) from None

    async def run_limited(fn, *args):
        with lock:
            if state["pending"] >= options.max_pending:
                raise HTTPException(503, "too many requests waiting; retry shortly", {"Retry-After": "1"})
            state["pending"] += 1
        try:
            return await run_in_threadpool(fn, *args)
        finally:
            with lock:
                state["pending"] -= 1

    @app.get("/", include_in_schema=False)
    async def index():
        return FileResponse(STATIC / "index.html")

    @app.get("/api/health", response_model=HealthOut)
    async def health():
        first = pool.all[0]
        return HealthOut(status="ok", version=__version__, models=first.model_names,
                         detector=first.detector_name, workers=len(pool.all), busy=pool.busy)  # fmt: skip

    @app.get("/api/models", response_model=list[ModelOut])
    async def models():
        out = []
        for name, clf in pool.all[0].classifiers.items():
            card = clf.card
            out.append(ModelOut(name=name, task=card.task, labels=list(clf.labels),
                                architecture=card.architecture, params=card.params,
                                size_bytes=model_size_bytes(clf.path), metrics=card.metrics,
                                command=card.command))  # fmt: skip
        return out

    @app.post("/api/analyze", response_model=FrameOut, responses=ERRORS)
    async def analyze(image: ImageUpload):
        """Every face in the image: box, landmarks, each model's label and probabilities, smile intensity."""
        data, name = await read_upload(image)
        _, result = await run_limited(analyze_bytes, data, name)
        return JSONResponse(result.to_dict())

    @app.post("/api/annotate", responses={200: {"content": {"image/jpeg": {}}}, **ERRORS},
              response_class=Response)  # fmt: skip
    async def annotate(image: ImageUpload):
        """The image with a box, labels and a smile bar on every face, as JPEG."""
        data, name = await read_upload(image)

        def work():
            img, result = analyze_bytes(data, name)
            return cv2.imencode(".jpg", draw_frame(img, result), [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()

        return Response(await run_limited(work), media_type="image/jpeg")

    @app.websocket("/api/live")
    async def live(ws: WebSocket):
        await ws.accept()
        with lock:
            full = state["live_sessions"] >= options.max_live_sessions
            if not full:
                state["live_sessions"] += 1
        if full:
            await ws.send_json({"type": "error", "message": "too many live sessions; try again later"})
            await ws.close(code=1013)
            return
        pipeline = LivePipeline(None, FaceTracker(), detect_every=options.detect_every)
        gate = SmileGate(options.gate)
        start = time.monotonic()
        index = 0

        def process(data: bytes, ts: float, i: int) -> dict:
            t0 = time.perf_counter()
            img = decode_image(data, "frame", options.max_pixels)
            with pool.borrow(options.queue_timeout_s) as analyzer:
                result = pipeline.process(img, ts, i, "camera", analyzer=analyzer)
            events = gate.update(result)
            return {"type": "result", "frame": i, "result": result.to_dict(), "gate": gate.status(),
                    "events": [e.to_dict() for e in events], "server_ms": round((time.perf_counter() - t0) * 1e3, 2)}  # fmt: skip

        idle = options.live_idle_timeout_s

        async def send(reply: dict) -> None:  # a client that reads nothing must not hold the session
            await asyncio.wait_for(ws.send_json(reply), timeout=idle)

        try:
            while True:
                message = await asyncio.wait_for(ws.receive(), timeout=idle)
                if message["type"] == "websocket.disconnect":
                    break
                data = message.get("bytes")
                if not data:
                    text = message.get("text") or ""
                    if not text:
                        continue
                    if _control_message(text) == "reset":
                        pipeline = LivePipeline(None, FaceTracker(), detect_every=options.detect_every)
                        gate = SmileGate(options.gate)
                    else:
                        await send({"type": "error", "message": 'text frames are control messages: '
                                    'send {"type": "reset"}, or a frame as binary JPEG/PNG bytes'})  # fmt: skip
                    continue
                if len(data) > options.max_upload_bytes:
                    await send({"type": "error", "message": "frame too large"})
                    continue
                ts = (time.monotonic() - start) * 1000.0
                try:
                    reply = await run_in_threadpool(process, data, ts, index)
                    index += 1
                except (GrinlabError, Busy) as exc:
                    reply = {"type": "error", "message": str(exc) or "all workers are busy"}
                await send(reply)
        except asyncio.TimeoutError:  # idle, or not reading its replies: free the session
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(code=1001, reason="idle or not reading"), timeout=1.0)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            with lock:
                state["live_sessions"] -= 1

    return app
