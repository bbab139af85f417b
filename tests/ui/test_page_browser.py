"""End to end in headless Chromium: `lesson7 ui` runs as a real server (the shipped restorer, a
tiny untrained colorizer); a photo chosen on the page comes back as exactly the file `lesson7
restore predict` (or `lesson7 colorize`) writes, and bad uploads (a text file, a decompression
bomb) show their error on the page. The server's temp folder is gone after it stops."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from conftest import default_sigint
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class UiServer:
    """`python -m lesson7.cli ui` in a subprocess, with its own TMPDIR and working folder."""

    def __init__(self, root: Path, *flags: str):
        self.tmp, self.cwd = root / "tmp", root / "cwd"
        self.tmp.mkdir()
        self.cwd.mkdir()
        self.env = {**os.environ, "TMPDIR": str(self.tmp),
                    "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lesson7.cli", "ui", "--port", str(self.port), "--device", "cpu",
             *flags],
            cwd=self.cwd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            preexec_fn=default_sigint)
        end = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/api/tasks", timeout=2).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > end:
                    self.stop()
                    raise AssertionError(f"lesson7 ui did not start: {self.output}") from None
                time.sleep(0.2)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # Ctrl-C, as a person stops it
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.output = self.proc.stdout.read() if self.proc.stdout else ""
        return self.proc.returncode

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """A `lesson7` command with the server's environment (same torch threads, same code)."""
        return subprocess.run([sys.executable, "-m", "lesson7.cli", *args], cwd=self.cwd,
                              env=self.env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_colorizer_run):
    srv = UiServer(tmp_path_factory.mktemp("ui_server"), "--colorize-model", str(tiny_colorizer_run))
    yield srv
    srv.stop()


@pytest.fixture
def page(browser, server):
    # the session-wide browser of tests/conftest.py: a second sync playwright in the same
    # thread would be refused while the first one runs
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(server.url)
    page.wait_for_selector('input[name="task"]', state="attached")
    yield page
    context.close()


def test_a_photo_comes_back_as_the_cli_output(page, server, tmp_path):
    rng = np.random.default_rng(7)
    photo = tmp_path / "street.jpg"
    Image.fromarray(rng.integers(0, 256, (30, 44, 3), dtype=np.uint8)).save(photo, quality=70)
    page.set_input_files("#file", str(photo))
    page.wait_for_selector("#result", state="visible", timeout=120_000)
    assert page.inner_text("#status").startswith("Done: street.jpg")
    assert page.inner_text("#info").startswith("street_restore.png, 176×120 px")
    assert page.eval_on_selector("#after", "img => [img.naturalWidth, img.naturalHeight]") == [176, 120]
    page.fill("#slider", "20")  # the before/after split follows the slider
    assert page.eval_on_selector("#compare", "e => e.style.getPropertyValue('--split')") == "20%"
    with page.expect_download() as download:
        page.click("#download")
    assert download.value.suggested_filename == "street_restore.png"
    got = Path(download.value.path()).read_bytes()

    done = server.cli("restore", "predict", str(photo), "--out", str(tmp_path / "cli"),
                      "--device", "cpu")
    assert done.returncode == 0, done.stderr
    want = tmp_path / "cli" / "street.png"
    assert got == want.read_bytes()
    (tmp_path / "got.png").write_bytes(got)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "got.png")), np.asarray(Image.open(want)))
    assert page.errors == []


def test_a_grey_photo_comes_back_coloured_as_the_cli_output(page, server, tiny_colorizer_run,
                                                            tmp_path):
    rng = np.random.default_rng(8)
    photo = tmp_path / "grandma.png"
    Image.fromarray(rng.integers(0, 256, (40, 52), dtype=np.uint8), "L").save(photo)
    page.check('input[name="task"][value="colorize"]')
    assert "Colours a black-and-white photo" in page.inner_text("#task-help")
    page.set_input_files("#file", str(photo))
    page.wait_for_selector("#result", state="visible", timeout=120_000)
    with page.expect_download() as download:
        page.click("#download")
    assert download.value.suggested_filename == "grandma_colorize.png"
    done = server.cli("colorize", str(photo), "--model", str(tiny_colorizer_run), "--out",
                      str(tmp_path / "cli"), "--device", "cpu")
    assert done.returncode == 0, done.stderr
    assert Path(download.value.path()).read_bytes() == (tmp_path / "cli" / "grandma.png").read_bytes()
    assert page.errors == []


@pytest.mark.parametrize("name, words", [
    ("notes.txt", "notes.txt is not an image"),
    ("bomb.png", "bomb.png is 9000x9000 px (81.0 megapixels)"),
], ids=["text", "bomb"])
def test_a_bad_upload_shows_its_error(page, tmp_path, png_bomb, name, words):
    data = png_bomb() if name == "bomb.png" else b"a text file, not a photo\n"
    (tmp_path / name).write_bytes(data)
    page.set_input_files("#file", str(tmp_path / name))
    page.wait_for_selector("#error", state="visible", timeout=30_000)
    assert words in page.inner_text("#error")
    assert page.is_hidden("#result")


def test_the_server_stops_on_ctrl_c_leaving_no_files(server):
    assert server.stop() == 130, server.output  # `lesson7 <command>: interrupted`
    assert "open http://127.0.0.1:" in server.output
    assert list(server.tmp.iterdir()) == []  # its temp folder (uploads, results) is deleted
    assert list(server.cwd.iterdir()) == []  # and nothing was written anywhere else
