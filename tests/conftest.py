"""Shared fixtures: tiny in-memory data, and the location of ../shared (tests skip without it)."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest
import torch

from lesson7.data.tensor_batches import TensorBatches

_DEFAULT_SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
SHARED = Path(os.environ.get("LESSON7_SHARED", _DEFAULT_SHARED)).resolve()
# The package finds offline weights through $LESSON7_WEIGHTS (lesson7/weights.py), never through
# ../shared: point it at the staged files when they are there.
if (SHARED / "weights").is_dir():
    os.environ.setdefault("LESSON7_WEIGHTS", str(SHARED / "weights"))


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium driven by playwright: the system's `chromium` (Debian's package; CI
    installs it), never a downloaded browser. Skips, saying why, when playwright or chromium is
    missing, unless LESSON7_REQUIRE_BROWSER=1 (set by CI), where that is a failure."""
    required = os.environ.get("LESSON7_REQUIRE_BROWSER") == "1"
    why = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        why = "playwright is not installed (pip install -e '.[dev]')"
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if why is None and exe is None:
        why = "no chromium on PATH (Debian: apt-get install chromium)"
    if why is not None:
        if required:
            pytest.fail(f"LESSON7_REQUIRE_BROWSER=1 but {why}")
        pytest.skip(why)
    with sync_playwright() as p:
        # containers often have a tiny /dev/shm, which crashes Chromium's renderer
        b = p.chromium.launch(executable_path=exe, args=["--disable-dev-shm-usage"])
        yield b
        b.close()


def default_sigint() -> None:
    """`Popen(preexec_fn=...)` for a Ctrl-C test's child: SIGINT back to its default. A suite
    started as a background job of a non-interactive shell (`nohup ... &`) runs with SIGINT
    ignored, and a child inherits that, so it would never see the test's Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def shared_path(*parts: str) -> Path:
    """A path under ../shared, skipping the test when it is absent."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"real data not available: {p}")
    return p


class TensorData:
    """Train and valid ``TensorBatches`` (valid: ``vx``/``vy``, or the training tensors)."""

    def __init__(self, x, y, bs=32, vx=None, vy=None):
        self.train_dl = TensorBatches(x, y, bs=bs)
        self.valid_dl = TensorBatches(x if vx is None else vx, y if vy is None else vy,
                                      bs=bs * 2, shuffle=False)


@pytest.fixture
def toy_data() -> TensorData:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 10, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    return TensorData(x, y)


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread: tiny models run fastest so, and on a busy 2-core box two threads can be
    ten times slower. Use with `pytestmark = pytest.mark.usefixtures("one_thread")`."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make_mnist_png(root: Path, n_train: int = 12, n_test: int = 6) -> Path:
    """root/mnist_png/{training,testing}/{0,1}/*.png: a learnable toy MNIST (digit 1 is a vertical
    bar, digit 0 a ring, on dark noise)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, n in (("training", n_train), ("testing", n_test)):
        for digit in ("0", "1"):
            d = root / "mnist_png" / split / digit
            d.mkdir(parents=True)
            for i in range(n):
                img = rng.integers(0, 60, (28, 28), dtype=np.uint8)
                if digit == "1":
                    img[4:24, 12:16] = 255
                else:
                    img[6:22, 6:22] = 200
                    img[10:18, 10:18] = 0
                Image.fromarray(img, mode="L").save(d / f"{i}.png")
    return root


def whole_image_tiled(model, img, tile, overlap, scale):
    """The pre-streaming tiled prediction, kept as a test oracle: one full-size float
    accumulator and weight image (`lesson7.restore.tiles` now works band by band)."""
    from lesson7.restore.tiles import blend_ramp, tile_starts

    _, h, w = img.shape
    ys, xs = tile_starts(h, tile, overlap), tile_starts(w, tile, overlap)
    th, tw, s = min(tile, h), min(tile, w), scale
    out, weight = None, torch.zeros(1, h * s, w * s)
    for i, y0 in enumerate(ys):
        wy = blend_ramp(th * s, overlap * s, first=i == 0, last=i == len(ys) - 1)
        for j, x0 in enumerate(xs):
            wx = blend_ramp(tw * s, overlap * s, first=j == 0, last=j == len(xs) - 1)
            pred = model(img[None, :, y0:y0 + th, x0:x0 + tw])[0]
            out = torch.zeros(pred.shape[0], h * s, w * s) if out is None else out
            out[:, y0 * s:(y0 + th) * s, x0 * s:(x0 + tw) * s] += pred * (wy[:, None] * wx)
            weight[:, y0 * s:(y0 + th) * s, x0 * s:(x0 + tw) * s] += wy[:, None] * wx
    return out / weight


@pytest.fixture(scope="module")
def tiny_restore_run(tmp_path_factory) -> Path:
    """A run folder with an untrained x1 resnet18 U-Net, as `restore train` writes it."""
    from lesson7.restore.restorer import Restorer, UnetConfig, build_unet

    torch.manual_seed(0)
    cfg = UnetConfig(arch="resnet18", img_size=(32, 32), self_attention=False)
    run = tmp_path_factory.mktemp("tiny_restore") / "run"
    Restorer(build_unet(cfg), cfg).save(run / "model")
    return run


TINY_COLORIZER = dict(encoder_depth=5, img_size=(32, 32), render_size=32)
"""A colorizer on Lite0's stem + stages 1-4 (1/16, three skips, so self-attention is in)."""


@pytest.fixture(scope="module")
def tiny_colorizer_run(tmp_path_factory) -> Path:
    """A run folder with a randomly initialised tiny colorizer, as `colorize train` writes it."""
    from lesson7.colorize.colorizer import Colorizer, ColorizerConfig, build_colorizer

    torch.manual_seed(0)
    cfg = ColorizerConfig(**TINY_COLORIZER)
    run = tmp_path_factory.mktemp("tiny_colorizer") / "run"
    Colorizer(build_colorizer(cfg), cfg).save(run / "model")
    return run


def colour_photo(w: int = 48, h: int = 40, seed: int = 0):
    """A PIL RGB photo of smooth colour gradients with a little noise: every pixel has chroma."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x / w, y / h, 0.5 + 0.5 * np.sin(x / 5.0 + seed)], -1) * 220 + 15
    return Image.fromarray(np.clip(base + rng.normal(0, 4, (h, w, 3)), 0, 255).astype(np.uint8))


def grey_photo(w: int = 48, h: int = 40, seed: int = 0):
    """`colour_photo` in PIL "L"."""
    return colour_photo(w, h, seed).convert("L")


@pytest.fixture(scope="module")
def vgg16_trunk(tmp_path_factory):
    """The ImageNet VGG16 trunk when one is installed; else a randomly initialised one in the
    same file layout (these tests check the loss's wiring and the run folder, not its values),
    so they also run where no weights are (CI without ../shared)."""
    import os

    import torchvision
    from safetensors.torch import save_file

    from lesson7.losses.perceptual import VGG16_TRUNK_FILE
    from lesson7.weights import find_weights

    if find_weights(VGG16_TRUNK_FILE) is not None:
        yield
        return
    d = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    state = torchvision.models.vgg16().state_dict()
    save_file({k: v.contiguous() for k, v in state.items() if k.startswith("features.")},
              d / VGG16_TRUNK_FILE)
    old = os.environ.get("LESSON7_WEIGHTS")
    os.environ["LESSON7_WEIGHTS"] = str(d)
    yield
    if old is None:
        del os.environ["LESSON7_WEIGHTS"]
    else:
        os.environ["LESSON7_WEIGHTS"] = old
