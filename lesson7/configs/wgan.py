"""`lesson7 wgan`: the lesson's WGAN (`lesson7-wgan.ipynb`; Arjovsky et al. 2017) or WGAN-GP
(Gulrajani et al. 2017) from noise, with a classifier-FID."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lesson7.configs.common import RunConfig
from lesson7.configs.flags import check_at_least, check_positive, flag


@dataclass(kw_only=True)
class WGANConfig(RunConfig):
    """Train a WGAN on a folder of images (or MNIST IDX files), sample and score it."""

    data: str = flag()
    """Image folder (searched recursively), an archive of one, or a folder with MNIST IDX files."""
    size: int = flag(64)
    """Image size, a power of two."""
    channels: int = flag(3, choices=(1, 3))
    """1 (greyscale) or 3 (RGB)."""
    bs: int = flag(128)
    """Batch size."""
    epochs: int = flag(30)
    """Epochs (the lesson's 30)."""
    lr: float = flag(2e-4)
    """Constant learning rate (RMSprop in the paper; Adam with betas (0, 0.99) here as fastai)."""
    gp: bool = flag(False)
    """WGAN-GP: gradient penalty 10, no clipping, no BatchNorm in the critic."""
    clip: float = flag(0.01)
    """Weight clipping bound c (WGAN; Arjovsky et al. 2017, Algorithm 1)."""
    gp_weight: float = flag(10.0)
    """Gradient penalty weight lambda (WGAN-GP)."""
    n_crit: int = flag(5)
    """Critic batches per generator batch."""
    noise_sz: int = flag(100)
    """Length of the generator's noise vector."""
    n_features: int = flag(64)
    """Width of both nets."""
    n_extra_layers: int = flag(0)
    """Extra 3x3 layers (the lesson: 1)."""
    ema: float = flag(0.0)
    """Decay of an exponential moving average of the generator's weights, which is then what is
    saved, scored and sampled (e.g. 0.999; 0 = off, the lesson's plain generator)."""
    limit: int | None = flag(None)
    """Use only the first N images."""
    fid_samples: int = flag(2000)
    """Samples for the classifier-FID."""
    fid_classifier: Path | None = flag(None)
    """mnist_resnet checkpoint (from `lesson7 mnist`) whose features define the FID."""
    fid_classifier_epochs: int = flag(1)
    """Epochs to train the FID classifier on labelled (IDX) data."""
    max_minutes: float | None = flag(None)
    """Stop training after this much wall time."""
    out: Path = flag(Path("runs/wgan"))
    """Run folder: samples per epoch, generator.safetensors, metrics.json."""
    seed: int = flag(0)
    """Random seed."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.channels not in (1, 3):
            raise ValueError(f"--channels must be 1 or 3, got {self.channels}")
        if self.size < 8 or self.size & (self.size - 1):
            raise ValueError(f"--size must be a power of two >= 8 (e.g. 32, 64), got {self.size}")
        check_at_least(1, bs=self.bs, epochs=self.epochs, n_crit=self.n_crit,
                       noise_sz=self.noise_sz, n_features=self.n_features, limit=self.limit,
                       fid_samples=self.fid_samples)
        check_at_least(0, n_extra_layers=self.n_extra_layers,
                       fid_classifier_epochs=self.fid_classifier_epochs)
        check_positive(lr=self.lr, clip=self.clip, max_minutes=self.max_minutes)
        if not 0 <= self.ema < 1:
            raise ValueError(f"--ema must be in [0, 1) (0 = off), got {self.ema}")
        if self.gp_weight < 0:
            raise ValueError(f"--gp-weight must be >= 0, got {self.gp_weight}")
