"""`lesson7 restore train | predict | eval`: the lesson's U-Net image restoration
(`lesson7-superres.ipynb`, `lesson7-superres-gan.ipynb`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lesson7.configs.common import RunConfig, input_paths
from lesson7.configs.flags import check_at_least, check_fraction, check_positive, flag
from lesson7.data.degradations import BICUBIC_NAMES, CRAPPIFIERS_NAMES, DEGRADATIONS

ENCODER_NAMES = ("alexnet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
                 "vgg11_bn", "vgg16", "vgg16_bn", "vgg19_bn", "efficientnet_lite0")
"""U-Net encoders (`lesson7.models.encoders.ENCODERS`; a test keeps the two in step)."""
LOSSES = ("mse", "l1", "feature")
MAX_LR = 10.0
"""Largest --lr accepted: larger values only make NaNs (training stops on those too)."""
NORMS = ("weight", "batch", "spectral")


@dataclass(kw_only=True)
class RestoreTrainConfig(RunConfig):
    """Train a restoration U-Net, the lesson's recipe by default.

    Pairs come from --lowres DIR --hr DIR, or are made from --hr with --crappify MODE or
    --degrade bicubic-xN (written under OUT/lowres). One-cycle frozen (lr x3, pct_start 0.8) then
    unfrozen (slice(lr/1000, lr)) per size: with lr 1e-3 the notebook's slice(3e-3) and
    slice(1e-6, 1e-3). A from-scratch encoder gets lr in every layer group.
    """

    hr: list[Path] = flag()
    """Folder(s) of clean target images."""
    lowres: Path | None = flag(None)
    """Folder of degraded inputs, paired with --hr by relative path and stem."""
    crappify: str | None = flag(None, choices=CRAPPIFIERS_NAMES)
    """Make the inputs from --hr with this crappifier."""
    degrade: str | None = flag(None, choices=BICUBIC_NAMES)
    """Bicubic SR track: inputs are the bicubic down- and up-scaled --hr images."""
    arch: str = flag("resnet34", choices=ENCODER_NAMES)
    """U-Net encoder."""
    pretrained: bool = flag(True)
    """ImageNet encoder weights (torchvision cache, or --encoder-weights)."""
    encoder_weights: Path | None = flag(None)
    """Encoder weights file (safetensors, or a torchvision .pth state dict)."""
    loss: str = flag("mse", choices=LOSSES)
    """mse (the superres-gan notebook), l1, or feature (the superres notebook)."""
    feature_weights: Path | None = flag(None)
    """VGG16(-BN) weights for --loss feature (default: torchvision's, else the weights dir)."""
    size: list[int] = flag(default_factory=lambda: [128], sep=",")
    """Training size(s) in turn, e.g. 128 or 128,256 (progressive resizing)."""
    bs: int = flag(32)
    """Batch size at the first size (scaled by (first/size)^2 at later sizes)."""
    epochs: int = flag(2)
    """Frozen epochs per size."""
    unfreeze_epochs: int = flag(3)
    """Unfrozen epochs per size."""
    lr: float = flag(1e-3)
    """Base learning rate (see above)."""
    wd: float = flag(1e-3)
    """Weight decay."""
    valid_pct: float = flag(0.1)
    """Fraction of the pairs held out for validation (random, seed 42)."""
    norm: str = flag("weight", choices=NORMS)
    """Decoder normalisation."""
    self_attention: bool = flag(True)
    """Self-attention in the decoder (the lesson's)."""
    blur: bool = flag(True)
    """Blur after each pixel shuffle (the lesson's)."""
    identity_init: bool = flag(False)
    """No y_range; the U-Net starts as the identity on its input (not in the lesson)."""
    workers: int | None = flag(None)
    """Crappify / decode processes."""
    out: Path = flag(Path("runs/restore"))
    """Run folder: model.safetensors + model.json, config.json, metrics.json, results.png."""
    overwrite: bool = flag(False)
    """Replace a finished model in --out (and discard an unfinished run of other settings)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.hr = [Path(h) for h in ([self.hr] if isinstance(self.hr, (str, Path)) else self.hr)]
        self.size = [int(s) for s in ([self.size] if isinstance(self.size, int) else self.size)]
        sources = sum(x is not None for x in (self.lowres, self.crappify, self.degrade))
        if sources != 1:
            raise ValueError("give exactly one of --lowres DIR, --crappify MODE, --degrade bicubic-xN")
        if self.crappify is not None and self.crappify not in CRAPPIFIERS_NAMES:
            raise ValueError(f"--crappify must be one of {list(CRAPPIFIERS_NAMES)}, got {self.crappify!r}")
        if self.degrade is not None and self.degrade not in BICUBIC_NAMES:
            raise ValueError(f"--degrade must be one of {list(BICUBIC_NAMES)}, got {self.degrade!r}")
        if self.arch not in ENCODER_NAMES:
            raise ValueError(f"--arch must be one of {list(ENCODER_NAMES)}, got {self.arch!r}")
        if self.lowres is not None and len(self.hr) != 1:
            raise ValueError("--lowres pairs with exactly one --hr folder")
        if not self.hr:
            raise ValueError("--hr needs at least one folder")
        for d in self.hr:
            if not d.is_dir():
                raise ValueError(f"--hr {d} is not a folder")
        if not self.size or any(s < 16 for s in self.size):
            raise ValueError(f"--size values must be >= 16 px, got {self.size}")
        check_positive(bs=self.bs, lr=self.lr)
        if self.lr > MAX_LR:  # far past divergence: a typo such as 1e30 for 1e-3
            raise ValueError(f"--lr must be <= {MAX_LR}, got {self.lr}")
        check_at_least(0, epochs=self.epochs, unfreeze_epochs=self.unfreeze_epochs)
        check_at_least(1, workers=self.workers)
        if not 0 <= self.wd <= 1:  # decoupled decay multiplies weights by 1 - lr*wd per step
            raise ValueError(f"--wd must be between 0 and 1, got {self.wd}")
        if self.epochs + self.unfreeze_epochs < 1:
            raise ValueError("--epochs + --unfreeze-epochs must be >= 1")
        check_fraction(valid_pct=self.valid_pct)
        if self.identity_init and self.norm != "weight":  # DynamicUnet.init_identity_ needs it
            raise ValueError(f"--identity-init needs --norm weight, got --norm {self.norm}")
        for name, path in (("--encoder-weights", self.encoder_weights),
                           ("--feature-weights", self.feature_weights)):
            if path is not None and not Path(path).is_file():
                raise ValueError(f"{name} {path} is not a file")

    @property
    def degradation(self) -> str | None:
        """The registry name the inputs were made with (None for given --lowres pairs)."""
        return self.degrade or self.crappify

    @property
    def scratch(self) -> bool:
        """A randomly initialised encoder (no pretrained weights of any kind)."""
        return not self.pretrained and self.encoder_weights is None


@dataclass(kw_only=True)
class PredictConfig:
    """Restore images of any size with a trained model, in blended tiles.

    `restore predict [RUN] IMAGES... --out DIR`: the first path is the model when it is a run
    folder (it holds model.safetensors, model.json or config.json) or a .safetensors file;
    otherwise every path is an image or a folder of images and a model shipped with lesson7
    restores them: lesson7/assets/restorer_x4.safetensors, or restorer_x1.safetensors (same
    size, much faster) for --scale 1.

    Outputs are PNGs under --out: OUT/<path relative to the folder given>, or OUT/<name> for
    files named directly, with the suffix replaced by .png (sub/a.jpg -> OUT/sub/a.png). When
    two inputs would get the same name (a.jpg and a.png), each whose name does not end in .png
    keeps its whole name plus .png (a.jpg -> OUT/a.jpg.png); any clash left is refused before
    anything runs. Nothing is written into an input folder or over an input file. An output
    that already exists is skipped (--overwrite redoes it), so an interrupted folder resumes
    where it stopped; files that cannot be restored are listed at the end (exit status 1).
    Each image streams through the model one band of tiles at a time, straight into its PNG:
    memory depends on --tile and the image width, not on the image height.
    """

    paths: list[Path] = flag(positional=True, metavar="PATH")
    """[RUN] IMAGES...: an optional run folder or .safetensors, then image files or folders."""
    out: Path = flag()
    """Output folder (never inside an input folder)."""
    tile: int = flag(512)
    """Tile size in px (of the model's input)."""
    overlap: int = flag(32)
    """Tile overlap in px (blended)."""
    scale: float | None = flag(None)
    """Enlarge by this factor (default: the model's own scale). Without a RUN, --scale 1 (or
    below) uses the shipped same-size restorer, any other scale the shipped x4 one."""
    max_megapixels: float = flag(100.0)
    """Refuse an image whose output would have more pixels than this (in millions)."""
    overwrite: bool = flag(False)
    """Restore images whose output already exists again (default: skip them)."""
    device: str = flag("auto")
    """auto (CUDA if available), cpu, cuda, cuda:N or mps."""

    def __post_init__(self) -> None:
        from lesson7.configs.flags import check_device

        check_device(self.device)
        self.paths = input_paths(self.paths, "image file or folder")
        self.out = Path(self.out)
        check_tiles(self.tile, self.overlap)
        check_positive(scale=self.scale, max_megapixels=self.max_megapixels)


@dataclass(kw_only=True)
class EvalConfig:
    """Score a model against its degraded input: PSNR, PSNR-Y, SSIM-Y, LPIPS."""

    checkpoint: Path = flag(positional=True)
    """Run folder or model.safetensors."""
    hr: Path = flag()
    """Folder of clean images."""
    degrade: str | None = flag(None, choices=tuple(DEGRADATIONS))
    """How inputs are made (default: the training one)."""
    seed: int = flag(0)
    """Seed of the degradation (per image, from the seed and the relative path)."""
    eval_size: int | None = flag(None)
    """Crappify tracks: HR short side (default: the last training size)."""
    lpips: bool = flag(True)
    """Score LPIPS (--no-lpips: report it as null, e.g. offline without ImageNet weights)."""
    lpips_net: str = flag("alex", choices=("alex", "vgg"))
    """LPIPS trunk."""
    lpips_weights: Path | None = flag(None)
    """Trunk weights for LPIPS (default: torchvision's cache, else the weights dir)."""
    tile: int = flag(512)
    """Tile size in px."""
    overlap: int = flag(32)
    """Tile overlap in px (blended)."""
    out: Path | None = flag(None)
    """Folder for metrics.json (default: RUN/eval_<hr folder>_<degrade>)."""
    device: str = flag("auto")
    """auto (CUDA if available), cpu, cuda, cuda:N or mps."""

    def __post_init__(self) -> None:
        from lesson7.configs.flags import check_device

        check_device(self.device)
        self.checkpoint, self.hr = Path(self.checkpoint), Path(self.hr)
        if self.degrade is not None and self.degrade not in DEGRADATIONS:
            raise ValueError(f"--degrade must be one of {list(DEGRADATIONS)}, got {self.degrade!r}")
        if not self.hr.is_dir():
            raise ValueError(f"--hr {self.hr} is not a folder")
        check_tiles(self.tile, self.overlap)
        check_at_least(16, eval_size=self.eval_size)


def check_tiles(tile: int, overlap: int) -> None:
    """--tile >= 16 and 0 <= --overlap < --tile."""
    if tile < 16 or overlap < 0 or overlap >= tile:
        raise ValueError(f"need --tile >= 16 and 0 <= --overlap < --tile, got {tile}, {overlap}")
