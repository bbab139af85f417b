"""`lesson7 ui`: its --help loads neither torch nor the web layer; bad flags and a port in use are
one-line errors (exit 2); a missing `ui` extra names the install command."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from lesson7.cli import main
from lesson7.configs.ui import UiConfig


def test_help_imports_neither_torch_nor_the_web_layer():
    code = ("import contextlib, io, sys\nfrom lesson7.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            "    try:\n        main(['ui', '--help'])\n    except SystemExit:\n        pass\n"
            "assert '--max-megapixels' in out.getvalue()\n"
            "print(*(m for m in ('torch', 'fastapi', 'starlette', 'uvicorn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("flags, words", [
    (["--port", "0"], "--port must be between 1 and 65535, got 0"),
    (["--max-megapixels", "-1"], "--max-megapixels must be > 0"),
    (["--max-queue", "0"], "--max-queue must be >= 1"),
    (["--tile", "8"], "need --tile >= 16"),
])
def test_bad_flags_are_one_line_errors(capsys, flags, words):
    with pytest.raises(SystemExit) as e:
        main(["ui", *flags])
    assert e.value.code == 2 and words in capsys.readouterr().err


def test_a_port_in_use_is_a_one_line_error(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["ui", "--port", str(port), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"lesson7 ui: error: --port {port}: cannot listen on 127.0.0.1:{port}")
    assert len(err.strip().splitlines()) == 1


def test_a_missing_model_is_a_one_line_error(capsys, tmp_path):
    with socket.socket() as s:  # a port free now (the server binds it before loading models)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["ui", "--model", str(tmp_path / "nope"), "--port", str(port), "--device", "cpu"]) == 2
    assert "no restore checkpoint at" in capsys.readouterr().err


def test_without_the_ui_extra_the_error_names_the_install(monkeypatch):
    from lesson7.ui import serve

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if not installed
    with pytest.raises(serve.MissingUIPackage, match=r"pip install 'lesson7\[ui\]'"):
        serve.serve(UiConfig())
