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
``workers`` analyses run at once, over one loaded Analyzer (its models are shared; each
concurrent detection gets its own OpenCV detector); at most ``max_pending`` requests wait for one, and a request that waits longer than
``queue_timeout_s`` gets 503 with Retry-After. An upload body that has not arrived whole within
``upload_timeout_s`` gets 408 (slow-loris clients do not hold the server); a live session idle, or
not reading its replies, for ``live_idle_timeout_s`` is closed (code 1001), freeing its slot. A text
frame on /api/live other than ``{"type": "reset"}`` gets an error message. Every error is JSON
``{"error": {"code", "message"}}``.
Clients never name files on the server: images arrive as bytes, models are fixed at start.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import cv2
from fastapi import FastAPI, File, UploadFile, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from .. import __version__
from ..errors import GrinlabError
from ..gate import GateOptions
from ..io.drawing import draw_frame
from ..io.images import DEFAULT_MAX_PIXELS, ImageTooLarge, decode_image
from ..pipeline import Analyzer, AnalyzerOptions
from ..shipped import model_size_bytes
from .live_socket import LiveLimits, serve_live
from .schemas import ErrorOut, FrameOut, HealthOut, ModelOut
from .workers import Busy, SessionCount, WorkerSlots

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
    max_pixels: int = DEFAULT_MAX_PIXELS
    workers: int = 2
    max_pending: int = 32
    queue_timeout_s: float = 10.0
    max_live_sessions: int = 4
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
    analyzer = Analyzer(options.analyzer)
    workers = WorkerSlots(options.workers)
    state = {"pending": 0}
    lock = threading.Lock()
    live_sessions = SessionCount(options.max_live_sessions)
    live_limits = LiveLimits(options.max_upload_bytes, options.max_pixels, options.queue_timeout_s,
                             options.live_idle_timeout_s)  # fmt: skip

    @asynccontextmanager
    async def lifespan(app):
        yield
        analyzer.close()

    app = FastAPI(
        lifespan=lifespan,
        title="grinlab",
        version=__version__,
        description="Smile and facial-expression recognition: every face in an image, or live from a camera.",
    )
    app.state.analyzer = analyzer
    app.state.workers = workers
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
            with workers.slot(options.queue_timeout_s):
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
        return HealthOut(status="ok", version=__version__, models=analyzer.model_names,
                         detector=analyzer.detector_name, workers=workers.size, busy=workers.busy)  # fmt: skip

    @app.get("/api/models", response_model=list[ModelOut])
    async def models():
        out = []
        for name, clf in analyzer.classifiers.items():
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
        await serve_live(ws, analyzer, workers, live_sessions, options.gate, live_limits)

    return app
