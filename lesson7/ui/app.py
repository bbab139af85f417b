"""The web app: one page, and a small JSON API the page uses (FastAPI / Starlette).

    GET  /                       the page (`page.html`: HTML, CSS and JS in one file, no CDN)
    GET  /api/tasks              the tasks offered and the upload limits
    POST /api/jobs?task=&name=   the photo's bytes as the request body -> 202 {id, state, ...}
    GET  /api/jobs/{id}          queued (position) | working (progress) | done | error (message)
    GET  /api/jobs/{id}/result   the result PNG

The photo is the raw request body, read as a stream and cut off at the size cap, so an
oversized upload is refused without being stored (a multipart form would be parsed and
spooled whole before our code could look at it). Refusals are JSON `{"detail": message}`
with 400 (not an image, unknown task), 413 (too many bytes or pixels), 415 (a body type other
than application/octet-stream or image/*) or 503 (queue full).

Other web sites open in the same browser must not use this server: the upload's content type
is one a cross-site form cannot send without a CORS preflight, which this app never grants,
and `serve` passes `trusted_hosts` (loopback names) so a DNS-rebound name is refused.
`create_app(tasks, cfg)` takes the models already loaded, so tests pass in a tiny one.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse
from starlette.middleware.trustedhost import TrustedHostMiddleware

from lesson7.configs.ui import UiConfig
from lesson7.ui.jobs import Job, JobQueue, QueueFull
from lesson7.ui.photo_tasks import PhotoTask
from lesson7.ui.uploads import UploadError, display_name, image_size

__all__ = ["create_app"]

# The page loads nothing from elsewhere: scripts, styles and images are its own (inline) or
# blob: URLs of the photo the user chose.
_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "img-src 'self' blob: data:; connect-src 'self'; base-uri 'none'; form-action 'none'")


def create_app(tasks: Iterable[PhotoTask], cfg: UiConfig | None = None,
               trusted_hosts: Sequence[str] | None = None) -> FastAPI:
    """The app serving `tasks` (the first is preselected) under the limits of `cfg`; with
    `trusted_hosts`, requests naming another Host are refused (400).

    The temporary folder for uploads and results is made at startup and deleted at shutdown
    (the app's lifespan: `with TestClient(app)` runs it in tests).
    """
    cfg = cfg or UiConfig()
    registry = {t.name: t for t in tasks}
    if not registry:
        raise ValueError("the web UI needs at least one task")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        workdir = Path(tempfile.mkdtemp(prefix="lesson7-ui-"))
        app.state.queue = JobQueue(workdir, cfg.max_pixels, cfg.max_queue, cfg.keep_results)
        try:
            yield
        finally:
            await app.state.queue.stop()
            shutil.rmtree(workdir, ignore_errors=True)

    app = FastAPI(title="lesson7", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    if trusted_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(trusted_hosts))
    page = (files("lesson7.ui") / "page.html").read_text(encoding="utf-8")

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return HTMLResponse(page, headers={"Content-Security-Policy": _CSP,
                                           "Cache-Control": "no-store"})

    @app.get("/api/tasks")
    def list_tasks() -> dict:
        return {"tasks": [{"name": t.name, "label": t.label, "description": t.description}
                          for t in registry.values()],
                "max_upload_mb": cfg.max_upload_mb, "max_megapixels": cfg.max_megapixels}

    @app.post("/api/jobs", status_code=202)
    async def submit(request: Request, task: str = "", name: str = "") -> dict:
        if task not in registry:
            raise HTTPException(400, f"unknown task {task!r}; choose from {sorted(registry)}")
        name = display_name(name)
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/octet-stream" and not kind.startswith("image/"):
            raise HTTPException(415, f"send the photo as the request body with Content-Type "
                                     f"application/octet-stream or image/*, not {kind!r}")
        limit = cfg.max_upload_bytes
        too_big = (f"{name} is larger than this server's upload limit of {cfg.max_upload_mb:g} MB "
                   "(lesson7 ui --max-upload-mb)")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise HTTPException(413, too_big)  # refused before a byte is read
        queue: JobQueue = request.app.state.queue
        try:
            job = queue.new_job(registry[task], name)
        except QueueFull as e:
            raise HTTPException(503, str(e)) from None
        try:
            received = 0
            with open(job.upload, "wb") as f:
                async for chunk in request.stream():
                    received += len(chunk)
                    if received > limit:
                        raise UploadError(too_big, status=413)
                    f.write(chunk)
            if received == 0:
                raise UploadError("no photo received: the request body was empty")
            image_size(job.upload, name, cfg.max_pixels)  # header only: no image, too many pixels
        except UploadError as e:
            queue.discard(job)
            raise HTTPException(e.status, str(e)) from None
        except BaseException:
            queue.discard(job)
            raise
        queue.start(job)
        return _status(queue, job)

    def _job(request: Request, job_id: str) -> Job:
        job = request.app.state.queue.jobs.get(job_id)
        if job is None:
            raise HTTPException(404, "no such job (results are kept for the newest "
                                     f"{cfg.keep_results} photos, until the server stops)")
        return job

    @app.get("/api/jobs/{job_id}")
    def status(request: Request, job_id: str) -> dict:
        return _status(request.app.state.queue, _job(request, job_id))

    @app.get("/api/jobs/{job_id}/result")
    def result(request: Request, job_id: str) -> FileResponse:
        job = _job(request, job_id)
        if job.state != "done":
            raise HTTPException(409, f"the result is not ready: the job is {job.state}")
        return FileResponse(job.result, media_type="image/png", filename=job.result_name,
                            content_disposition_type="inline",
                            headers={"Cache-Control": "no-store"})

    return app


def _status(queue: JobQueue, job: Job) -> dict:
    return {"id": job.id, "task": job.task.name, "name": job.name, "state": job.state,
            "position": queue.position(job), "progress": round(job.progress, 4),
            "message": job.message, "output_size": job.output_size, "seconds": job.seconds,
            "result_url": f"/api/jobs/{job.id}/result" if job.state == "done" else None,
            "result_name": job.result_name}
