"""The work queue behind the page: one photo at a time through the model, the rest wait in order.

Each upload becomes a `Job` (queued -> working -> done | error). The model runs in a worker
thread, so the server keeps answering status requests while it works, and an `asyncio.Lock`
(first come, first served) lets one job at a time in: a model on 2 CPU cores is no faster with
two photos at once, and memory stays bounded by one photo. Uploads and results live in
`workdir`, a temporary folder the app deletes on shutdown; only the newest `keep_results`
finished jobs keep their files.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from lesson7.ui.photo_tasks import PhotoTask
from lesson7.ui.uploads import UploadError, decode_upload

__all__ = ["Job", "JobQueue", "QueueFull", "Stopped"]


class QueueFull(Exception):
    """Too many photos are waiting; the upload is refused (HTTP 503)."""


class Stopped(Exception):
    """The server is shutting down; the job in progress gives up."""


@dataclass
class Job:
    """One uploaded photo and what became of it."""

    id: str
    task: PhotoTask
    name: str
    upload: Path
    result: Path
    state: str = "queued"
    """queued, working, done or error."""
    progress: float = 0.0
    message: str = ""
    """Why it failed (error), or a note on the result (done)."""
    output_size: tuple[int, int] | None = None
    seconds: float | None = None
    order: int | None = None
    """Place in the line for the model, given when its upload is complete (`JobQueue.start`)."""
    created: float = field(default_factory=time.monotonic)

    @property
    def result_name(self) -> str:
        """The download's file name: photo.jpg -> photo_restore.png."""
        return f"{Path(self.name).stem}_{self.task.name}.png"


class JobQueue:
    """Jobs by id; `submit` queues one and starts it when the model is free."""

    def __init__(self, workdir: Path, max_pixels: int, max_queue: int = 8, keep_results: int = 20):
        self.workdir = Path(workdir)
        self.max_pixels = max_pixels
        self.max_queue = max_queue
        self.keep_results = keep_results
        self.jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task] = set()
        self._counter = itertools.count()
        self._stopping = False
        self.running = 0
        """Jobs inside the model right now (never more than 1; tests check)."""
        self.max_running = 0

    def new_job(self, task: PhotoTask, name: str) -> Job:
        """A job with a fresh upload path in `workdir`; refused when the queue is full."""
        if self._stopping:
            raise QueueFull("the server is shutting down")
        waiting = sum(j.state == "queued" for j in self.jobs.values())
        if waiting >= self.max_queue:
            raise QueueFull(f"the server is busy: {waiting} photos are already waiting (lesson7 ui "
                            f"--max-queue {self.max_queue}); try again in a minute")
        job_id = secrets.token_urlsafe(12)  # unguessable: one user cannot fetch another's photo
        job = Job(job_id, task, name, self.workdir / f"{job_id}.upload",
                  self.workdir / f"{job_id}.png")
        self.jobs[job_id] = job
        return job

    def start(self, job: Job) -> None:
        """Queue `job` (its upload is written) to run when the model is free."""
        job.order = next(self._counter)  # the order in which jobs reach the lock below
        t = asyncio.get_running_loop().create_task(self._run(job))
        self._tasks.add(t)
        t.add_done_callback(self._tasks.discard)

    def discard(self, job: Job) -> None:
        """Forget a job that never started (its upload was refused) and delete its files."""
        self.jobs.pop(job.id, None)
        job.upload.unlink(missing_ok=True)

    def position(self, job: Job) -> int:
        """How many queued jobs are ahead of `job` (0 when it is next or not queued)."""
        if job.state != "queued" or job.order is None:
            return 0
        return sum(j.state == "queued" and j.order is not None and j.order < job.order
                   for j in self.jobs.values())

    async def _run(self, job: Job) -> None:
        async with self._lock:
            if self._stopping:
                return
            job.state = "working"
            t0 = time.perf_counter()
            try:
                await asyncio.to_thread(self._work, job)
            except UploadError as e:
                job.state, job.message = "error", str(e)
            except Stopped:
                job.state, job.message = "error", "the server stopped"
            except (ValueError, OSError) as e:
                job.state, job.message = "error", f"{job.name}: {e}"
            except (MemoryError, RuntimeError) as e:  # e.g. torch out of memory: this photo only
                first_line = (str(e).strip().splitlines() or [""])[0][:200]
                job.state, job.message = "error", f"{job.name}: {type(e).__name__}: {first_line}"
            else:
                job.state, job.progress = "done", 1.0
                job.seconds = time.perf_counter() - t0
            finally:
                job.upload.unlink(missing_ok=True)
        self._forget_old()

    def _work(self, job: Job) -> None:  # in the worker thread
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            img = decode_upload(job.upload, job.name, job.task.mode, self.max_pixels)
            job.output_size = job.task.output_size(img.size)
            note = job.task.run(img, job.result, lambda f: self._progress(job, f))
            job.message = note or ""
        finally:
            self.running -= 1

    def _progress(self, job: Job, fraction: float) -> None:
        if self._stopping:
            raise Stopped
        job.progress = fraction

    def _forget_old(self) -> None:
        finished = [j for j in self.jobs.values() if j.state in ("done", "error")]
        for job in finished[:max(0, len(finished) - self.keep_results)]:
            job.result.unlink(missing_ok=True)
            del self.jobs[job.id]

    async def stop(self) -> None:
        """Stop: queued jobs never start, the working one stops at its next band of rows."""
        self._stopping = True
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
