"""What every demo stage gets: its folder, the device, the seed, quick mode, its progress."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lesson7.demo.progress import StageProgress

__all__ = ["StageContext", "mnist_sample_path", "demo_photos", "one_thread"]

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def mnist_sample_path() -> Path:
    """The packaged MNIST sample: 100 training + 50 testing digits per class (mnist_png layout)."""
    return ASSETS / "mnist_sample.tgz"


def demo_photos() -> list[Path]:
    """The four packaged photos (256 x 256 crops of scikit-image's public-domain / CC0 samples;
    see assets/demo_photos/LICENSE.md), in a fixed order."""
    return sorted((ASSETS / "demo_photos").glob("*.png"))


@dataclass
class StageContext:
    """One stage's run: `dir` is its folder under the demo's `root`."""

    root: Path
    dir: Path
    device: str
    seed: int
    quick: bool
    progress: StageProgress
    trained_on_one_thread: bool = False
    """Set by `one_thread(ctx)`: the report's device line then says so."""


@contextmanager
def one_thread(ctx: StageContext) -> Iterator[None]:
    """Torch on one thread for the tiny models (the mnist ResNet, the GRU, the 16-feature WGAN):
    they gain little from a second thread, and on a busy machine two threads are many times
    slower (measured here at load 9: the mnist stage's 30 epochs took 480 s on two threads,
    60 s on one at load 8)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    ctx.trained_on_one_thread = True
    try:
        yield
    finally:
        torch.set_num_threads(before)
