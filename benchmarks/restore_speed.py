"""Question: how many output megapixels per second does restore predict reach on a few CPU
threads, with PyTorch eager fp32, eager channels_last, and onnxruntime?

Same model, same photos, same tiling: each engine runs `Restorer.restore` (normalise, blended
tiles of --tile px, denormalise, resize to the model's scale), so only the network's engine
differs. The ONNX model is made by `lesson7.restore.export.export_onnx` (checked against
PyTorch) and run through `load_onnx_restorer` with --threads intra-op threads. Photos: the first
--n-images of --images (sorted), each centre-cropped and resized to --input-size (W,H) as the
restorer's input. Reported per engine: output Mpx/s as the median over --runs runs (each run
restores every photo once, after one warm-up photo), min and max, and the largest 8-bit
difference from eager fp32. Prints the CPU, versions, commit, threads and the load average
before and after (a loaded machine gives no numbers to publish).

    # issue 12: the shipped x4 model and the lesson's resnet34 U-Net (bicubic x4 input)
    python benchmarks/restore_speed.py shipped
    python benchmarks/restore_speed.py shipped-x1 --input-size 1920,1280   # same-size restorer
    python benchmarks/restore_speed.py runs/restore_bicubic_x4
    # smoke run on any small checkpoint
    python benchmarks/restore_speed.py RUN --n-images 1 --input-size 120,80 --runs 3
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from torch import Tensor, nn

from lesson7.configs.export import ExportConfig
from lesson7.data.items import get_image_files
from lesson7.restore.export import export_onnx, load_onnx_restorer, resolve_model_name
from lesson7.restore.restorer import Restorer

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"


class ChannelsLast(nn.Module):
    """`model` with NHWC weights and inputs (oneDNN's preferred layout for CPU convolutions)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model.to(memory_format=torch.channels_last)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x.contiguous(memory_format=torch.channels_last)).contiguous()


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _commit() -> str:
    return subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True,
                          text=True, cwd=Path(__file__).parent).stdout.strip() or "unknown"


def _load_photos(folder: Path, n: int, size: tuple[int, int]) -> list[Image.Image]:
    files = sorted(get_image_files(folder))[:n]
    if len(files) < n:
        raise SystemExit(f"need {n} images in {folder}, found {len(files)}")
    return [ImageOps.fit(Image.open(f).convert("RGB"), size, Image.Resampling.BICUBIC)
            for f in files]


def _measure(restorer: Restorer, photos: list[Image.Image], runs: int, tile: int,
             overlap: int) -> tuple[list[float], list[np.ndarray]]:
    """Output Mpx/s of each run (every photo once), after one warm-up, and the outputs."""
    restorer.restore(photos[0], tile=tile, overlap=overlap)  # warm-up: allocator, oneDNN kernels
    rates, outs = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        outs = [np.asarray(restorer.restore(p, tile=tile, overlap=overlap)) for p in photos]
        rates.append(sum(o.shape[0] * o.shape[1] for o in outs) / 1e6 / (time.perf_counter() - t0))
    return rates, outs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help='run folder, model.safetensors, "shipped" or "shipped-x1"')
    ap.add_argument("--images", type=Path, default=SHARED / "datasets" / "bsds500" / "val")
    ap.add_argument("--n-images", type=int, default=3)
    ap.add_argument("--input-size", default="480,320", help="W,H of each photo as model input")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tile", type=int, default=512)
    ap.add_argument("--overlap", type=int, default=32)
    ap.add_argument("--onnx", type=Path, default=None,
                    help="an exported model to use (default: export one to a temporary folder)")
    args = ap.parse_args()
    if args.runs < 3:
        ap.error("--runs must be >= 3 (the median of fewer runs says little)")
    size = tuple(int(v) for v in args.input_size.split(","))
    torch.set_num_threads(args.threads)

    import onnxruntime

    print(f"device: {_cpu_name()} ({os.cpu_count()} logical CPUs), {args.threads} threads "
          f"for torch and for onnxruntime (intra-op)")
    print(f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, "
          f"python {platform.python_version()}, commit {_commit()}")
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    photos = _load_photos(args.images, args.n_images, size)
    source = resolve_model_name(args.model)
    eager = Restorer.load(source)
    cfg = eager.cfg
    print(f"model {args.model}: {cfg.arch}, upscale {cfg.upscale}, scale {eager.default_scale:g}; "
          f"{len(photos)} photos from {args.images} at {size[0]}x{size[1]} -> output "
          f"{eager.output_size(size)[0]}x{eager.output_size(size)[1]}; tile {args.tile}, "
          f"overlap {args.overlap}; median of {args.runs} runs")

    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = args.onnx
        if onnx_path is None:
            onnx_path = Path(tmp) / "model.onnx"
            r = export_onnx(ExportConfig(model=args.model, onnx=onnx_path))
            print(f"exported {onnx_path.name}: max |ONNX - PyTorch| {r['max_abs_diff']:.2g}")
        engines = {
            "eager fp32": eager,
            "eager channels_last": Restorer(ChannelsLast(Restorer.load(source).model), cfg),
            "onnxruntime": load_onnx_restorer(onnx_path, threads=args.threads),
        }
        reference = None
        print(f"{'engine':22s} {'Mpx/s (median)':>15s} {'min':>7s} {'max':>7s} {'max 8-bit diff':>15s}")
        for name, restorer in engines.items():
            rates, outs = _measure(restorer, photos, args.runs, args.tile, args.overlap)
            reference = outs if reference is None else reference
            diff = max(int(np.abs(a.astype(int) - b.astype(int)).max())
                       for a, b in zip(outs, reference, strict=True))
            print(f"{name:22s} {statistics.median(rates):15.3f} {min(rates):7.3f} "
                  f"{max(rates):7.3f} {diff:15d}")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
