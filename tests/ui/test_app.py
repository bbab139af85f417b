"""The web app through Starlette's test client: results equal the CLI's, bad uploads get a clear
refusal, one photo at a time with the rest queued, and nothing left behind in the temp folder."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402

from lesson7.cli import main  # noqa: E402
from lesson7.configs.ui import UiConfig  # noqa: E402
from lesson7.restore.restorer import Restorer  # noqa: E402
from lesson7.ui.app import create_app  # noqa: E402
from lesson7.ui.photo_tasks import PhotoTask, colorize_task, restore_task  # noqa: E402
from lesson7.ui.serve import load_tasks  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


def photo_bytes(w: int = 37, h: int = 29, fmt: str = "JPEG", seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(buf, fmt)
    return buf.getvalue()


def wait_done(client: TestClient, job_id: str, timeout: float = 60) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] in ("done", "error"):
            return job
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} not finished after {timeout} s: {job}")


def submit(client: TestClient, data: bytes, name: str = "photo.jpg", task: str = "restore",
           kind: str = "application/octet-stream"):
    return client.post("/api/jobs", params={"task": task, "name": name}, content=data,
                       headers={"Content-Type": kind})


@pytest.fixture(scope="module")
def tiny_restorer(tiny_restore_run) -> Restorer:
    return Restorer.load(tiny_restore_run)


def test_restore_result_equals_the_cli_output(tiny_restore_run, tiny_restorer, tmp_path):
    src = tmp_path / "in" / "photo.jpg"
    src.parent.mkdir()
    src.write_bytes(photo_bytes(37, 29))
    cfg = UiConfig(tile=32, overlap=8)  # several tiles, so the blending path is compared too
    with TestClient(create_app([restore_task(tiny_restorer, cfg.tile, cfg.overlap)], cfg)) as client:
        r = submit(client, src.read_bytes())
        assert r.status_code == 202, r.text
        job = wait_done(client, r.json()["id"])
        assert job["state"] == "done", job
        png = client.get(job["result_url"])
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert 'filename="photo_restore.png"' in png.headers["content-disposition"]
    assert main(["restore", "predict", str(tiny_restore_run), str(src), "--out", str(tmp_path / "cli"),
                 "--tile", "32", "--overlap", "8", "--device", "cpu"]) == 0
    cli = (tmp_path / "cli" / "photo.png").read_bytes()
    assert png.content == cli  # the same file, byte for byte
    assert Image.open(io.BytesIO(png.content)).size == (37, 29) == tuple(job["output_size"])


@pytest.mark.parametrize("colour", [False, True], ids=["grey", "colour"])
def test_colorize_result_equals_the_cli_output(tiny_restorer, tiny_colorizer_run, tmp_path, colour):
    from lesson7.colorize.colorizer import Colorizer

    src = tmp_path / "in" / "old.png"
    src.parent.mkdir()
    photo = Image.open(io.BytesIO(photo_bytes(48, 40, "PNG", seed=3)))
    (photo if colour else photo.convert("L")).save(src)
    tasks = [restore_task(tiny_restorer), colorize_task(Colorizer.load(tiny_colorizer_run))]
    with TestClient(create_app(tasks)) as client:
        assert [t["name"] for t in client.get("/api/tasks").json()["tasks"]] == ["restore", "colorize"]
        job = wait_done(client, submit(client, src.read_bytes(), "old.png", task="colorize").json()["id"])
        assert job["state"] == "done", job
        png = client.get(job["result_url"]).content
    force = ["--force"] if colour else []  # without it the CLI skips a colour photo
    assert main(["colorize", str(src), "--model", str(tiny_colorizer_run), "--out",
                 str(tmp_path / "cli"), "--device", "cpu", *force]) == 0
    assert png == (tmp_path / "cli" / "old.png").read_bytes()
    assert ("already had colour" in job["message"]) == colour


def test_colorize_is_offered_when_a_colorizer_is_installed(tiny_restore_run, tiny_colorizer_run,
                                                           monkeypatch, capsys, tmp_path):
    cfg = UiConfig(model=tiny_restore_run, device="cpu")
    monkeypatch.setenv("LESSON7_SHIPPED_COLORIZER", str(tmp_path / "none.safetensors"))
    assert [t.name for t in load_tasks(cfg)] == ["restore"]
    assert "colorize is not offered: no shipped colorizer is installed" in capsys.readouterr().err
    monkeypatch.setenv("LESSON7_SHIPPED_COLORIZER", str(tiny_colorizer_run / "model.safetensors"))
    assert [t.name for t in load_tasks(cfg)] == ["restore", "colorize"]
    named = UiConfig(model=tiny_restore_run, colorize_model=tmp_path / "nope", device="cpu")
    with pytest.raises(ValueError, match="nope"):  # a colorizer the user named must load
        load_tasks(named)


def test_without_model_flags_the_shipped_models_restore_clean_and_colorize(monkeypatch):
    for var in ("LESSON7_SHIPPED_MODEL", "LESSON7_SHIPPED_COLORIZER"):
        monkeypatch.delenv(var, raising=False)
    tasks = {t.name: t for t in load_tasks(UiConfig(device="cpu"))}
    assert list(tasks) == ["restore", "clean", "colorize"]
    assert tasks["restore"].output_size((23, 17)) == (92, 68)
    assert tasks["clean"].output_size((23, 17)) == (23, 17)    # the same-size restorer
    assert tasks["clean"].label == "Restore (x1)" and "keeps the photo's size" in tasks["clean"].description


def test_the_page_and_the_task_list():
    restorer_task = PhotoTask("restore", "Restore (x4)", "makes it better", "RGB",
                              lambda s: s, lambda img, dest, progress: None)
    with TestClient(create_app([restorer_task], UiConfig(max_upload_mb=3))) as client:
        page = client.get("/")
        tasks = client.get("/api/tasks").json()
    assert page.status_code == 200 and "Drop a photo" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "http://" not in page.text and "https://" not in page.text  # nothing from elsewhere
    assert tasks["tasks"] == [{"name": "restore", "label": "Restore (x4)",
                               "description": "makes it better"}]
    assert tasks["max_upload_mb"] == 3


def slow_task(release: threading.Event, seen: list) -> PhotoTask:
    """Waits for `release`, then writes a 1x1 PNG; records how many ran at once."""
    def run(img, dest, progress):
        progress(0.5)
        assert release.wait(30)
        Image.new("RGB", (1, 1)).save(dest)
    return PhotoTask("slow", "Slow", "waits", "RGB", lambda s: (1, 1), run)


def test_one_photo_at_a_time_the_rest_queued_then_refused():
    release = threading.Event()
    cfg = UiConfig(max_queue=2)
    app = create_app([slow_task(release, [])], cfg)
    with TestClient(app) as client:
        ids = [submit(client, photo_bytes(seed=i), task="slow").json()["id"] for i in range(3)]
        end = time.monotonic() + 10
        while client.get(f"/api/jobs/{ids[0]}").json()["state"] != "working":
            assert time.monotonic() < end
            time.sleep(0.01)
        states = [client.get(f"/api/jobs/{i}").json() for i in ids]
        assert [s["state"] for s in states] == ["working", "queued", "queued"]
        assert [s["position"] for s in states] == [0, 0, 1]
        assert states[0]["progress"] == 0.5
        busy = submit(client, photo_bytes(), task="slow")  # a third waiting photo: refused
        assert busy.status_code == 503 and "busy" in busy.json()["detail"]
        release.set()
        assert [wait_done(client, i)["state"] for i in ids] == ["done"] * 3
        assert app.state.queue.max_running == 1


@pytest.mark.parametrize("data, name, status, words", [
    (b"just some text, not a photo\n", "notes.txt", 400, "notes.txt is not an image"),
    ((9000, 9000), "bomb.png", 413, "bomb.png is 9000x9000 px (81.0 megapixels)"),
    ((300000, 300000), "huge.png", 413, "huge.png claims more pixels than PIL will open"),
    (photo_bytes(60, 50, "PNG"), "big.png", 413, "60x50 px"),
    (b"", "empty.jpg", 400, "no photo received"),
], ids=["text", "bomb", "pil-bomb", "too-many-px", "empty"])
def test_bad_uploads_are_refused_with_a_clear_message(png_bomb, data, name, status, words):
    data = png_bomb(*data) if isinstance(data, tuple) else data
    cfg = UiConfig(max_megapixels=0.002)  # 2000 px: a 60x50 photo is too many
    with TestClient(create_app([slow_task(threading.Event(), [])], cfg)) as client:
        r = submit(client, data, name, task="slow")
        assert r.status_code == status, r.text
        assert words in r.json()["detail"]
        assert list(client.app.state.queue.workdir.iterdir()) == []  # the refused upload is gone


def test_oversized_upload_is_refused_before_it_is_stored():
    cfg = UiConfig(max_upload_mb=0.001)  # 1000 bytes
    with TestClient(create_app([slow_task(threading.Event(), [])], cfg)) as client:
        declared = submit(client, b"x" * 5000, "big.jpg", task="slow")
        streamed = client.post("/api/jobs", params={"task": "slow", "name": "big.jpg"},
                               content=iter([b"x" * 600, b"x" * 600]),  # chunked: no length
                               headers={"Content-Type": "image/jpeg"})
        unknown = submit(client, photo_bytes(), task="nope")
    for r in (declared, streamed):
        assert r.status_code == 413 and "upload limit of 0.001 MB" in r.json()["detail"]
    assert unknown.status_code == 400 and "unknown task 'nope'" in unknown.json()["detail"]


def test_a_failing_job_reports_its_error_and_the_temp_folder_is_removed(tmp_path):
    def run(img, dest, progress):
        raise ValueError("the model refused")
    task = PhotoTask("fail", "Fail", "fails", "RGB", lambda s: s, run)
    with TestClient(create_app([task])) as client:
        workdir: Path = client.app.state.queue.workdir
        job = wait_done(client, submit(client, photo_bytes(), "a.jpg", task="fail").json()["id"])
        assert job["state"] == "error" and job["message"] == "a.jpg: the model refused"
        assert client.get(f"/api/jobs/{job['id']}/result").status_code == 409
        assert client.get("/api/jobs/nope").status_code == 404
        assert workdir.is_dir()
    assert not workdir.exists()


def test_a_truncated_photo_fails_in_its_job_with_a_message(tiny_restorer):
    data = photo_bytes(40, 30, "PNG")
    with TestClient(create_app([restore_task(tiny_restorer)])) as client:
        r = submit(client, data[:len(data) // 2], "cut.png")  # the header is fine
        assert r.status_code == 202
        job = wait_done(client, r.json()["id"])
    assert job["state"] == "error" and job["message"].startswith("cut.png could not be decoded")


def test_only_the_newest_results_are_kept():
    task = PhotoTask("one", "One", "1x1", "RGB", lambda s: (1, 1),
                     lambda img, dest, progress: Image.new("RGB", (1, 1)).save(dest))
    with TestClient(create_app([task], UiConfig(keep_results=2))) as client:
        ids = [submit(client, photo_bytes(seed=i), task="one").json()["id"] for i in range(3)]
        assert wait_done(client, ids[-1])["state"] == "done"
        time.sleep(0.1)
        codes = [client.get(f"/api/jobs/{i}").status_code for i in ids]
        files = sorted(p.name for p in client.app.state.queue.workdir.iterdir())
    assert codes == [404, 200, 200]
    assert files == sorted(f"{i}.png" for i in ids[1:])


def test_other_sites_cannot_use_the_server():
    task = slow_task(threading.Event(), [])
    app = create_app([task], trusted_hosts=["127.0.0.1", "localhost"])
    with TestClient(app, base_url="http://127.0.0.1:8765") as ours, \
            TestClient(app, base_url="http://rebound.example:8765") as theirs:
        assert ours.get("/").status_code == 200
        assert theirs.get("/").status_code == 400  # a DNS-rebound name is not ours
        form = submit(ours, photo_bytes(), task="slow", kind="text/plain")  # a cross-site form's
    assert form.status_code == 415 and "application/octet-stream" in form.json()["detail"]
