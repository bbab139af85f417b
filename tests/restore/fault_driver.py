"""Fault-injection driver for `test_fault_injection.py` (run as a script, not collected).

Imports lesson7 once and never computes with torch itself; every `lesson7 restore train` runs in
a child made by `os.fork` (cheap: nothing to import again), which this process SIGKILLs when
one planned event happens: after a seeded random delay, while a checkpoint's temporary `.part`
file exists (a kill inside the atomic write), or right after a checkpoint was renamed into
place. Then it reruns the same command until one run ends by itself. An uninterrupted run of
the same command into another folder is the reference.

    python fault_driver.py WORKDIR  ->  WORKDIR/{hr,reference,killed}; prints a JSON report
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
import traceback
from pathlib import Path

import torch

import lesson7.models.unet  # noqa: F401 - imported once here, not in every child
import lesson7.restore.train  # noqa: F401
from lesson7.cli import main
from lesson7.data.synthetic import make_toy_scenes

SEED = 20241128  # the kill delays: the same schedule on every run of the test


def flags(hr: Path, out: Path) -> list[str]:
    return ["restore", "train", "--hr", str(hr), "--degrade", "bicubic-x2", "--arch", "resnet18",
            "--no-pretrained", "--identity-init", "--size", "32", "--bs", "4", "--epochs", "0",
            "--unfreeze-epochs", "3", "--workers", "1", "--device", "cpu", "--seed", "0",
            "--out", str(out)]


def start(argv: list[str], log: Path) -> int:
    """Fork a child that runs `lesson7 <argv>` with its output in `log`; returns its pid."""
    pid = os.fork()
    if pid:
        return pid
    rc = 70
    try:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        rc = main(argv)
    except BaseException:  # noqa: BLE001 - a child must never return into the driver
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(rc)


def _parts(folder: Path, stem: str) -> list[str]:
    """Temporary files of `stem` (e.g. last.safetensors) being written in `folder`."""
    try:
        return [n for n in os.listdir(folder) if n.startswith(f".{stem}.") and n.endswith(".part")]
    except FileNotFoundError:
        return []


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns


def run_until(argv: list[str], log: Path, out: Path, event: tuple[str, object]) -> dict:
    """Start a run and SIGKILL it when `event` happens; or let it end by itself."""
    kind, arg = event
    files = {"state": (out / "state", "last.safetensors"), "model": (out, "model.safetensors")}
    before = _identity(files[arg][0] / files[arg][1]) if kind == "renamed" else None
    t0 = time.perf_counter()
    pid = start(argv, log)
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return {"event": f"{kind} {arg}", "fired": False, "rc": os.waitstatus_to_exitcode(status)}
        t = time.perf_counter() - t0
        if kind == "after":
            fire = t >= arg
        elif kind == "writing":
            fire = bool(_parts(*files[arg]))
        else:  # renamed: a new file is in place
            now = _identity(files[arg][0] / files[arg][1])
            fire = now is not None and now != before
        if fire:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return {"event": f"{kind} {arg}", "fired": True, "t": round(t, 3),
                    "parts_left": _parts(*files[arg]) if kind == "writing" else []}
        time.sleep(0.002)


def main_driver(work: Path) -> dict:
    torch.set_num_threads(1)  # inherited by every child: the runs compare bitwise
    hr = make_toy_scenes(work / "hr", n=12, size=40, seed=0)
    ref, killed = work / "reference", work / "killed"
    report: dict = {"reference_rc": None, "kills": [], "final_rc": None}
    pid = start(flags(hr, ref), work / "reference.log")
    report["reference_rc"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

    rng = random.Random(SEED)
    plan = [("after", round(rng.uniform(0.2, 1.5), 3)),  # making inputs, data or the model
            ("writing", "state"),                           # inside the resume point's write
            ("renamed", "state"),                           # right after it was renamed in
            ("after", round(rng.uniform(0.5, 3.0), 3)),
            ("writing", "state"),
            ("writing", "model"),                           # inside the final model's write
            ("renamed", "model")]                           # model in place, state not cleared
    for event in plan:
        result = run_until(flags(hr, killed), work / "killed.log", killed, event)
        report["kills"].append(result)
        if not result["fired"]:  # the run ended by itself before the event
            report["final_rc"] = result["rc"]
            break
    for _ in range(3):  # rerun until a run ends by itself
        if report["final_rc"] is not None:
            break
        result = run_until(flags(hr, killed), work / "killed.log", killed, ("after", 1e9))
        report["final_rc"] = result["rc"]
    return report


if __name__ == "__main__":
    print(json.dumps(main_driver(Path(sys.argv[1]))))
