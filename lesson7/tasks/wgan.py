"""`lesson7 wgan`: the lesson's WGAN (noise -> image) on any image folder, with classifier-FID.

    lesson7 wgan --data PATH [--size 64] [--channels 1|3] [--bs 128] [--epochs N] [--gp] [--out DIR]

PATH is an image folder (searched recursively), an archive of one, or a folder holding the MNIST
IDX files (`train-images-idx3-ubyte.gz`). Images are resized (short side) and centre-cropped to
`--size`, scaled to [-1, 1] (the lesson's normalize(0.5, 0.5) on y), and held in memory as uint8.
Writes to --out: `samples_epoch{N}.png` (a 8x8 grid from fixed noise) per epoch, `last.safetensors`
(+ .json) per epoch, `generator.safetensors`, `config.json`, `metrics.json` with the per-epoch
losses and {"fid", "fid_real_vs_real", "n_samples"} (see `lesson7.gan.fid`). FID needs a
classifier: `--fid-classifier CKPT` (a `mnist_resnet` checkpoint from `lesson7 mnist`); without it,
on MNIST IDX data (which has labels) one is trained for `--fid-classifier-epochs` and saved in
--out; otherwise FID is null.
Refs: REFERENCE §2.6; Arjovsky et al. 2017; Gulrajani et al. 2017.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from lesson7.gan.fid import ClassifierFeatures, classifier_fid, fit_classifier
from lesson7.gan.learner import GANLearner, NoiseData
from lesson7.models.mnist import mnist_resnet
from lesson7.models.wgan import basic_critic, basic_generator
from lesson7.train.callbacks import Callback, CancelFit, SaveEveryEpoch
from lesson7.train.checkpoint import atomic_write_json, load_checkpoint, save_checkpoint

IDX_IMAGES = "train-images-idx3-ubyte.gz"
IDX_LABELS = "train-labels-idx1-ubyte.gz"


@dataclass
class WGANConfig:
    data: str
    size: int = 64
    channels: int = 3
    bs: int = 128
    epochs: int = 30
    lr: float = 2e-4
    gp: bool = False
    clip: float = 0.01
    gp_weight: float = 10.0
    n_crit: int = 5
    noise_sz: int = 100
    n_features: int = 64
    n_extra_layers: int = 0
    limit: int | None = None
    fid_samples: int = 2000
    fid_classifier: str | None = None
    fid_classifier_epochs: int = 1
    max_minutes: float | None = None
    seed: int = 0
    device: str = "auto"
    out: str = "runs/wgan"

    def __post_init__(self) -> None:
        if self.channels not in (1, 3):
            raise ValueError(f"--channels must be 1 or 3, got {self.channels}")
        if self.size < 8 or self.size & (self.size - 1):
            raise ValueError(f"--size must be a power of two >= 8 (e.g. 32, 64), got {self.size}")
        for flag, v in (("--bs", self.bs), ("--epochs", self.epochs), ("--n-crit", self.n_crit)):
            if v < 1:
                raise ValueError(f"{flag} must be >= 1, got {v}")
        if self.lr <= 0:
            raise ValueError(f"--lr must be > 0, got {self.lr}")


# -- data ---------------------------------------------------------------------------------------
def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">i4", count=ndim, offset=4)
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _fit_size(x: Tensor, size: int) -> Tensor:  # x: (N, C, H, W) float -> (N, C, size, size)
    h, w = x.shape[-2:]
    scale = size / min(h, w)
    x = F.interpolate(x, size=(max(size, round(h * scale)), max(size, round(w * scale))),
                      mode="bilinear", antialias=True, align_corners=False)
    top, left = (x.shape[-2] - size) // 2, (x.shape[-1] - size) // 2
    return x[..., top:top + size, left:left + size]


def load_images(path: str | Path, size: int, channels: int, limit: int | None = None
                ) -> tuple[Tensor, Tensor | None]:
    """All images under `path` as uint8 (N, channels, size, size), plus labels for MNIST IDX."""
    root = Path(path).expanduser()
    if not root.is_dir():  # an archive: extract it once into the data cache
        from lesson7.data.datasets import resolve_dataset

        root = resolve_dataset(root, download=False)
    idx = next(iter(sorted(root.rglob(IDX_IMAGES))), None)
    if idx is not None:
        arr = torch.from_numpy(_read_idx(idx)[:limit].copy())[:, None]      # (N, 1, 28, 28)
        labels = torch.from_numpy(_read_idx(idx.parent / IDX_LABELS)[:limit].astype(np.int64))
        x = arr.float().expand(-1, channels, -1, -1)
        chunks = [_fit_size(c, size) for c in x.split(4096)]
        return torch.cat(chunks).round().clamp(0, 255).to(torch.uint8), labels
    from lesson7.data.images import open_image
    from lesson7.data.items import get_image_files

    files = get_image_files(root)[:limit]
    mode = "L" if channels == 1 else "RGB"
    out = torch.empty(len(files), channels, size, size, dtype=torch.uint8)
    for i, f in enumerate(files):
        img = open_image(f, mode)[None] * 255                               # (1, C, H, W)
        out[i] = _fit_size(img, size)[0].round().clamp(0, 255).to(torch.uint8)
    return out, None


def to_gan_range(x: Tensor) -> Tensor:
    """uint8 [0, 255] -> float [-1, 1] (the lesson's normalize([0.5]*3, [0.5]*3) on y)."""
    return x.float().div(127.5).sub(1)


class ImageBatches:
    """Shuffled float batches in [-1, 1] from a uint8 image tensor (drops the last partial one)."""

    def __init__(self, images: Tensor, bs: int, seed: int = 0) -> None:
        if len(images) < bs:
            raise ValueError(f"--bs {bs} is larger than the dataset ({len(images)} images)")
        self.images, self.bs, self.seed, self.epoch = images, bs, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.images) // self.bs

    def __iter__(self) -> Iterator[Tensor]:
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(len(self.images), generator=g)
        for i in range(len(self)):
            yield to_gan_range(self.images[order[i * self.bs:(i + 1) * self.bs]])


# -- run ----------------------------------------------------------------------------------------
class EpochSamples(Callback):
    """Save a grid of samples from fixed noise after every epoch."""

    order = 80

    def __init__(self, out: Path, noise: Tensor) -> None:
        self.out, self.noise = out, noise

    def after_epoch(self, learn: GANLearner) -> None:
        learn.show_results(self.out / f"samples_epoch{learn.epoch + 1}.png", self.noise,
                           n=len(self.noise))


class TimeBudget(Callback):
    """Stop training (cleanly, after a batch) once `minutes` of wall time have passed."""

    order = 70

    def __init__(self, minutes: float) -> None:
        self.seconds = minutes * 60

    def before_fit(self, learn: GANLearner) -> None:
        self.t0 = time.perf_counter()

    def after_batch(self, learn: GANLearner) -> None:
        if time.perf_counter() - self.t0 > self.seconds:
            raise CancelFit


def fid_classifier(cfg: WGANConfig, images: Tensor, labels: Tensor | None, out: Path):
    """The classifier whose penultimate features define FID, or None (see module docstring)."""
    if cfg.channels != 1:
        return None
    model = mnist_resnet()
    if cfg.fid_classifier:
        load_checkpoint(cfg.fid_classifier, model)
    elif labels is not None:
        cached = out / "fid_classifier.safetensors"
        if cached.exists():
            load_checkpoint(cached, model)
        else:
            acc = fit_classifier(model, to_gan_range(images), labels,
                                 epochs=cfg.fid_classifier_epochs, seed=cfg.seed)
            save_checkpoint(cached, model, trained_on=cfg.data, epochs=cfg.fid_classifier_epochs,
                            valid_accuracy=acc)
    else:
        return None
    return model


def evaluate_fid(learn: GANLearner, classifier, images: Tensor, n: int, noise_sz: int,
                 seed: int = 0) -> dict:
    """classifier-FID of the generator vs real images, with real-vs-real at the same count."""
    if classifier is None:
        return {"fid": None, "fid_real_vs_real": None, "n_samples": 0,
                "fid_note": "no classifier for these images: pass --fid-classifier"}
    n = min(n, len(images) // 2)
    g = torch.Generator().manual_seed(seed + 1)
    order = torch.randperm(len(images), generator=g)
    real, ref = images[order[:n]], images[order[n:2 * n]]
    real_f = to_gan_range(real.float().mean(1, keepdim=True).to(torch.uint8))
    mean, std = float((real_f + 1).div(2).mean()), float((real_f + 1).div(2).std())
    feats = ClassifierFeatures(classifier.to(learn.device), size=28, mean=[mean], std=[std])
    noise = torch.randn(n, noise_sz, 1, 1, generator=g)
    fake = (learn.generate(b).mean(1, keepdim=True) for b in noise.split(500))
    gray = (to_gan_range(b).mean(1, keepdim=True) for b in real.split(500))
    gray_ref = (to_gan_range(b).mean(1, keepdim=True) for b in ref.split(500))
    return classifier_fid(feats, fake, gray, gray_ref)


def train_wgan(cfg: WGANConfig) -> dict:
    """Train, sample and score one WGAN; returns the metrics written to metrics.json."""
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "config.json", asdict(cfg))
    t0 = time.perf_counter()
    images, labels = load_images(cfg.data, cfg.size, cfg.channels, cfg.limit)
    data = NoiseData(ImageBatches(images, cfg.bs, cfg.seed), cfg.noise_sz)
    gen = basic_generator(cfg.size, cfg.channels, cfg.noise_sz, cfg.n_features, cfg.n_extra_layers)
    critic = basic_critic(cfg.size, cfg.channels, cfg.n_features, cfg.n_extra_layers,
                          norm_type=None if cfg.gp else "batch")  # no BatchNorm with GP
    noise = torch.randn(64, cfg.noise_sz, 1, 1, generator=torch.Generator().manual_seed(cfg.seed))
    learn = GANLearner.wgan(data, gen, critic, clip=None if cfg.gp else cfg.clip,
                            gp_weight=cfg.gp_weight if cfg.gp else 0.0, n_crit=cfg.n_crit,
                            lr=cfg.lr, path=out, device=cfg.device,
                            cbs=[EpochSamples(out, noise), SaveEveryEpoch("last"),
                                 *([TimeBudget(cfg.max_minutes)] if cfg.max_minutes else [])])
    classifier = fid_classifier(cfg, images, labels, out)
    untrained = evaluate_fid(learn, classifier, images, cfg.fid_samples, cfg.noise_sz, cfg.seed)
    t_train = time.perf_counter()
    learn.fit(cfg.epochs, cfg.lr)
    train_s = time.perf_counter() - t_train
    save_checkpoint(out / "generator.safetensors", learn.generator, size=cfg.size,
                    channels=cfg.channels, noise_sz=cfg.noise_sz, n_features=cfg.n_features,
                    n_extra_layers=cfg.n_extra_layers)
    fid = evaluate_fid(learn, classifier, images, cfg.fid_samples, cfg.noise_sz, cfg.seed)
    metrics = {"history": learn.recorder.history, **fid,
               "generator_steps": len(learn.gan_trainer.gen_history),
               "critic_steps": len(learn.gan_trainer.critic_history),
               "fid_untrained_generator": untrained["fid"], "n_images": len(images),
               "train_seconds": train_s, "total_seconds": time.perf_counter() - t0,
               "variant": "wgan-gp" if cfg.gp else "wgan-clip"}
    atomic_write_json(out / "metrics.json", _finite(metrics))
    return metrics


def _finite(obj):
    """NaN/inf -> None, so metrics.json stays valid JSON."""
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("wgan", help="train the lesson's WGAN (or WGAN-GP) from noise",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="image folder, archive, or MNIST IDX folder")
    p.add_argument("--size", type=int, default=64, help="image size, a power of two (default 64)")
    p.add_argument("--channels", type=int, default=3, help="1 (grayscale) or 3 (RGB), default 3")
    p.add_argument("--bs", type=int, default=128, help="batch size (default 128)")
    p.add_argument("--epochs", type=int, default=30, help="epochs (default 30, the lesson's)")
    p.add_argument("--lr", type=float, default=2e-4, help="constant learning rate (default 2e-4)")
    p.add_argument("--gp", action="store_true",
                   help="WGAN-GP: gradient penalty 10, no clipping, no BatchNorm in the critic")
    p.add_argument("--n-crit", type=int, default=5, help="critic batches per generator batch")
    p.add_argument("--n-features", type=int, default=64, help="width of both nets (default 64)")
    p.add_argument("--n-extra-layers", type=int, default=0, help="extra 3x3 layers (lesson: 1)")
    p.add_argument("--limit", type=int, default=None, help="use only the first N images")
    p.add_argument("--fid-samples", type=int, default=2000, help="samples for FID (default 2000)")
    p.add_argument("--fid-classifier", default=None, help="mnist_resnet checkpoint for FID")
    p.add_argument("--fid-classifier-epochs", type=int, default=1,
                   help="epochs to train the FID classifier on labelled (IDX) data")
    p.add_argument("--max-minutes", type=float, default=None,
                   help="stop training after this much wall time")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--out", default="runs/wgan", help="output folder (default runs/wgan)")
    p.set_defaults(func=run, _parser=p)


def run(args: argparse.Namespace) -> int:
    try:
        cfg = WGANConfig(data=args.data, size=args.size, channels=args.channels, bs=args.bs,
                         epochs=args.epochs, lr=args.lr, gp=args.gp, n_crit=args.n_crit,
                         n_features=args.n_features, n_extra_layers=args.n_extra_layers,
                         limit=args.limit, fid_samples=args.fid_samples,
                         fid_classifier=args.fid_classifier,
                         fid_classifier_epochs=args.fid_classifier_epochs,
                         max_minutes=args.max_minutes, seed=args.seed,
                         device=args.device, out=args.out)
    except ValueError as e:
        args._parser.error(str(e))
    try:
        metrics = train_wgan(cfg)
    except FloatingPointError as e:
        print(f"error: {e}")
        return 1
    print(json.dumps({k: metrics[k] for k in ("fid", "fid_real_vs_real", "n_samples",
                                              "fid_untrained_generator")}))
    return 0
