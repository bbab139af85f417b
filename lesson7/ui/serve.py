"""`serve(cfg)`: load the shipped models, then serve the page with uvicorn until Ctrl-C.

The socket is bound here, before uvicorn starts, so a port in use is one readable error
(`--port 8765: ...`) instead of a log line; a --host other than loopback gets a warning, since
anyone who can reach it may upload photos. Needs the `ui` extra (FastAPI, uvicorn).
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from typing import Any

from lesson7.configs.ui import UiConfig

__all__ = ["MissingUIPackage", "load_tasks", "open_socket", "serve"]

_INSTALL = "pip install 'lesson7[ui]'"


class MissingUIPackage(ModuleNotFoundError):
    """FastAPI or uvicorn (the `ui` extra) is not installed."""


def _require(module: str) -> Any:
    try:
        return __import__(module)
    except ImportError as e:
        raise MissingUIPackage(f"lesson7 ui needs the package {module!r}, which is not installed: "
                               f"{_INSTALL}", name=module) from e


def load_tasks(cfg: UiConfig) -> list:
    """The page's tasks with their models loaded: restore (the shipped model or --model), then
    clean (the shipped same-size restorer, when --model is not given), then colorize
    (--colorize-model, else the shipped colorizer when installed, else not offered: a note says
    why). A model named by a flag that cannot load is an error."""
    from lesson7.colorize.colorizer import Colorizer
    from lesson7.colorize.shipped import shipped_colorizer_path
    from lesson7.restore.restorer import Restorer
    from lesson7.restore.shipped import shipped_model_path
    from lesson7.train.learner import pick_device
    from lesson7.ui.photo_tasks import colorize_task, restore_task

    device = pick_device(cfg.device)
    restorer = Restorer.load(cfg.model or shipped_model_path(), device)
    tasks = [restore_task(restorer, cfg.tile, cfg.overlap)]
    if cfg.model is None:
        same_size = Restorer.load(shipped_model_path(1), device)
        tasks.append(restore_task(same_size, cfg.tile, cfg.overlap, name="clean"))
    try:
        colorizer = Colorizer.load(cfg.colorize_model or shipped_colorizer_path(), device)
    except ValueError as e:
        if cfg.colorize_model is not None:
            raise
        print(f"lesson7 ui: colorize is not offered: {e} (here: --colorize-model RUN)",
              file=sys.stderr)
    else:
        tasks.append(colorize_task(colorizer))
    return tasks


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def open_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on (host, port); an OSError naming --host/--port when it cannot."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise OSError(f"--host {host}: not an address of this computer ({e.strerror})") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as e:
        sock.close()
        raise OSError(f"--port {port}: cannot listen on {host}:{port} ({e.strerror}); "
                      "is another server using it? Choose another --port") from None
    sock.set_inheritable(True)
    return sock


def serve(cfg: UiConfig) -> None:
    """Serve the page until interrupted; returns when the server has stopped and cleaned up."""
    _require("fastapi")
    uvicorn = _require("uvicorn")
    from lesson7.ui.app import create_app

    # On loopback, only loopback names may reach us: a web page whose name is rebound to
    # 127.0.0.1 (DNS rebinding) is refused.
    hosts = ["127.0.0.1", "localhost", "[::1]"] if is_loopback(cfg.host) else None
    sock = open_socket(cfg.host, cfg.port)  # a port in use fails now, not after the models load
    try:
        app = create_app(load_tasks(cfg), cfg, trusted_hosts=hosts)
    except BaseException:
        sock.close()
        raise
    shown = f"[{cfg.host}]" if ":" in cfg.host else cfg.host
    print(f"lesson7 ui: open http://{shown}:{cfg.port}/ in a browser (Ctrl-C stops it)", flush=True)
    if not is_loopback(cfg.host):
        print(f"lesson7 ui: warning: --host {cfg.host} lets other computers upload photos here",
              file=sys.stderr)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
