"""`lesson7 gan critic | train | restore | compare`: NoGAN (`lesson7-superres-gan.ipynb`;
DeOldify): a pretrained generator, a critic pretrained on its outputs, then a short GAN."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lesson7.configs.common import RunConfig
from lesson7.configs.flags import check_at_least, check_positive, flag
from lesson7.configs.restore import ENCODER_NAMES
from lesson7.data.degradations import BICUBIC_NAMES, CRAPPIFIERS_NAMES

CRITIC_THRESH = 0.65
"""AdaptiveGANSwitcher: the critic trains until its batch loss is below this (the lesson's)."""

CRITIC_ARCHS = ("lesson", "encoder")
"""The critics (`lesson7.models.critic.make_critic`): the lesson's `gan_critic`, or the
pretrained EfficientNet-Lite0 encoder with a spectral-norm head (learns in far fewer steps)."""

ENCODER_CRITIC_MIN_SIZE = 32
"""The encoder critic's trunk halves the image 5 times: 32 px leaves one patch."""


def min_input_size(n_blocks: int, arch: str = "lesson") -> int:
    """Smallest image side the critic takes: for the lesson's, one that leaves its k4 head a
    >= 4x4 map after n_blocks + 1 halvings (`lesson7.models.critic.gan_critic`)."""
    return ENCODER_CRITIC_MIN_SIZE if arch == "encoder" else 4 * 2 ** (n_blocks + 1)


def check_critic_arch(arch: str, flag: str) -> None:
    if arch not in CRITIC_ARCHS:
        raise ValueError(f"unknown {flag} {arch!r}; choose from {list(CRITIC_ARCHS)}")


def check_critic_size(size: int, n_blocks: int, size_flag: str, blocks_flag: str,
                      arch: str = "lesson") -> None:
    """The critic's input must survive its halvings."""
    if size < min_input_size(n_blocks, arch):
        if arch == "encoder":
            raise ValueError(f"{size_flag} {size} is too small for the encoder critic; use "
                             f"{size_flag} >= {ENCODER_CRITIC_MIN_SIZE}")
        raise ValueError(f"{size_flag} {size} is too small for {n_blocks} critic blocks; use "
                         f"{size_flag} >= {min_input_size(n_blocks)} or fewer {blocks_flag}")


def check_critic_crop(crop: int | None, size: int, n_blocks: int, flag: str,
                      arch: str = "lesson") -> None:
    """A crop must fit in the image and still leave the critic's head a >= 4x4 map (the
    lesson's critic) or one patch (the encoder critic)."""
    if crop is None:
        return
    smallest = min_input_size(n_blocks, arch)
    what = "the encoder critic" if arch == "encoder" else f"{n_blocks} critic blocks"
    if not smallest <= crop <= size:
        raise ValueError(f"{flag} must be between {smallest} (for {what}) and "
                         f"the image size {size}, got {crop}")


def check_weights_gen(weights_gen: tuple[float, ...]) -> tuple[float, float]:
    if len(weights_gen) != 2 or min(weights_gen) < 0:
        raise ValueError(f"--weights-gen must be two numbers >= 0, got {weights_gen}")
    return (float(weights_gen[0]), float(weights_gen[1]))


@dataclass(kw_only=True)
class CriticConfig(RunConfig):
    """Pretrain the lesson's critic on generated vs real images: gan_critic, AdaptiveLoss(BCE),
    accuracy_thresh_expand, wd 1e-3, fit_one_cycle(epochs, lr); 0.976 after 6 epochs in the lesson."""

    arch: str = flag("lesson", choices=CRITIC_ARCHS)
    """Critic: lesson (gan_critic, the lesson's) or encoder (ImageNet EfficientNet-Lite0 +
    spectral-norm head; learns in far fewer steps)."""
    fake: Path = flag()
    """Folder of generated images (the lesson's image_gen)."""
    real: Path = flag()
    """Folder of real images."""
    size: int = flag(128)
    """Image size."""
    bs: int = flag(16)
    """Batch size."""
    epochs: int = flag(6)
    """Epochs (the lesson's 6)."""
    lr: float = flag(1e-3)
    """Max learning rate of the one-cycle schedule."""
    nf: int = flag(128)
    """Critic width (lesson critic)."""
    n_blocks: int = flag(3)
    """Critic down blocks (lesson critic)."""
    native: bool = flag(False, name="native-crops")
    """Centre crops at native resolution instead of resizing (bicubic SR track)."""
    crop: int | None = flag(None)
    """Train on random crops of this size (default: whole images): cheaper, more views per image."""
    out: Path = flag(Path("runs/gan_critic"))
    """Run folder: critic.safetensors (+ .json), config.json, metrics.json."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.fake, self.real = Path(self.fake), Path(self.real)
        for name, folder in (("--fake", self.fake), ("--real", self.real)):
            if not folder.is_dir():
                raise ValueError(f"{name} must be an image folder, got {str(folder)!r}")
        check_positive(bs=self.bs, epochs=self.epochs, lr=self.lr, nf=self.nf)
        check_at_least(1, n_blocks=self.n_blocks)
        check_critic_arch(self.arch, "--arch")
        check_critic_size(self.size, self.n_blocks, "--size", "--n-blocks", self.arch)
        check_critic_crop(self.crop, self.size, self.n_blocks, "--crop", self.arch)


@dataclass(kw_only=True)
class GANTrainConfig(RunConfig):
    """GAN fine-tuning of a `restore train` generator against a `gan critic` critic, at a
    constant LR, sizes in turn (the lesson's fit(40, 1e-4) at 128 px, then 10 at 192 px)."""

    generator: Path = flag()
    """Run folder of `lesson7 restore train` (or of an earlier `gan train`)."""
    critic: Path = flag()
    """Run folder of `lesson7 gan critic` (or of an earlier `gan train`)."""
    sizes: list[int] = flag(default_factory=lambda: [128], name="size", sep=",",
                             metavar="SIZE[,SIZE...]")
    """Size(s) in turn, e.g. 128,192 (progressive resizing)."""
    epochs: list[int] = flag(default_factory=lambda: [40], sep=",", metavar="N[,N...]")
    """Epochs per size (one value: the same for every size; the lesson: 40, then 10 at 192)."""
    lrs: list[float] = flag(default_factory=lambda: [1e-4], name="lr", sep=",",
                            metavar="LR[,LR...]")
    """Constant LR per size (the lesson: 1e-4, then 5e-5 at 192); critic batches x --mult-lr."""
    bs: int = flag(32)
    """Batch size at the first size, scaled by (first/size)^2 at later sizes."""
    weights_gen: tuple[float, ...] = flag((1.0, 50.0), sep=",", metavar="ADV,PIXEL")
    """Generator loss weights: adversarial,pixel (the lecture: 50-200 work; DeOldify 1,1.5 with
    a feature loss)."""
    critic_thresh: float = flag(CRITIC_THRESH)
    """The critic trains until its batch loss is below this."""
    mult_lr: float = flag(5.0)
    """Critic LR multiplier."""
    wd: float = flag(1e-3)
    """Weight decay."""
    betas: tuple[float, float] = flag((0.0, 0.99), cli=False)
    """Adam betas; beta1 = 0 because "GANs hate momentum" (the lesson)."""
    keep_every: int = flag(0)
    """Also keep the generator of every N-th epoch in OUT/snapshots (DeOldify picks by eye)."""
    hr: Path | None = flag(None)
    """Train on these HR images (with --lowres) instead of the generator run's data."""
    lowres: Path | None = flag(None)
    """Degraded inputs paired with --hr."""
    out: Path = flag(Path("runs/gan"))
    """Run folder: a restore-format model.safetensors, critic.safetensors, metrics.json."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.generator, self.critic = Path(self.generator), Path(self.critic)
        n = len(self.sizes)
        if n == 0 or any(s < 16 for s in self.sizes):
            raise ValueError(f"--size values must be >= 16 px, got {self.sizes}")
        for name, values in (("--epochs", self.epochs), ("--lr", self.lrs)):
            if len(values) not in (1, n):
                raise ValueError(f"{name} needs 1 or {n} values (one per --size), got {values}")
        self.epochs = list(self.epochs) * (n if len(self.epochs) == 1 else 1)
        self.lrs = list(self.lrs) * (n if len(self.lrs) == 1 else 1)
        if any(e < 1 for e in self.epochs):
            raise ValueError(f"--epochs must be >= 1, got {self.epochs}")
        if any(not lr > 0 for lr in self.lrs):
            raise ValueError(f"--lr must be > 0, got {self.lrs}")
        check_positive(bs=self.bs, mult_lr=self.mult_lr, critic_thresh=self.critic_thresh)
        check_at_least(0, keep_every=self.keep_every)
        self.weights_gen = check_weights_gen(tuple(self.weights_gen))
        self.betas = tuple(self.betas)
        if not self.generator.is_dir():
            raise ValueError(f"--generator must be a run folder, got {str(self.generator)!r}")
        if (self.hr is None) != (self.lowres is None):
            raise ValueError("--hr and --lowres go together (or neither: the generator run's data)")

    def stages(self) -> list[tuple[int, int, float, int]]:
        """(size, epochs, lr, bs) per stage."""
        first = self.sizes[0]
        return [(s, e, lr, max(1, round(self.bs * (first / s) ** 2)))
                for s, e, lr in zip(self.sizes, self.epochs, self.lrs, strict=True)]


@dataclass(kw_only=True)
class NoGANConfig(RunConfig):
    """The whole NoGAN chain from a folder of HR images; each stage skipped when its output
    exists, ending with PSNR / SSIM / LPIPS before vs after the GAN."""

    hr: Path = flag()
    """Folder of high-quality images."""
    crappify: str | None = flag(None, choices=CRAPPIFIERS_NAMES)
    """Crappifier making the inputs (default lesson)."""
    degrade: str | None = flag(None, choices=BICUBIC_NAMES)
    """Or the bicubic SR track (native-resolution crops throughout)."""
    size: int = flag(128)
    """Image size of every stage."""
    arch: str = flag("resnet34", choices=ENCODER_NAMES)
    """Generator encoder."""
    pretrained: bool = flag(True)
    """ImageNet encoder weights."""
    encoder_weights: Path | None = flag(None)
    """Encoder weights file (e.g. a VGG16 trunk with --arch vgg16)."""
    self_attention: bool = flag(True)
    """Self-attention in the generator's decoder."""
    identity_init: bool = flag(False)
    """The generator starts as the identity, no y_range (see restore train)."""
    bs: int = flag(32)
    """Batch size."""
    gen_epochs: int = flag(2)
    """Frozen generator epochs."""
    gen_unfreeze_epochs: int = flag(3)
    """Unfrozen generator epochs."""
    gen_lr: float = flag(1e-3)
    """Generator learning rate."""
    critic_epochs: int = flag(6)
    """Critic pretraining epochs."""
    critic_lr: float = flag(1e-3)
    """Critic learning rate."""
    critic_arch: str = flag("lesson", name="critic", choices=CRITIC_ARCHS)
    """Critic: lesson (gan_critic) or encoder (ImageNet EfficientNet-Lite0 + spectral-norm head)."""
    critic_nf: int = flag(128)
    """Critic width (lesson critic)."""
    critic_n_blocks: int = flag(3)
    """Critic down blocks (lesson critic)."""
    critic_crop: int | None = flag(None)
    """Critic pretraining on random crops of this size (see gan critic --crop)."""
    gan_epochs: int = flag(40)
    """GAN epochs."""
    gan_lr: float = flag(1e-4)
    """GAN learning rate."""
    weights_gen: tuple[float, ...] = flag((1.0, 50.0), sep=",", metavar="ADV,PIXEL")
    """Generator loss weights: adversarial,pixel."""
    critic_thresh: float = flag(CRITIC_THRESH)
    """The critic trains until its batch loss is below this."""
    eval_hr: Path | None = flag(None)
    """Images for the before/after report (default: --hr, i.e. held-in images)."""
    lpips_weights: Path | None = flag(None)
    """AlexNet trunk for LPIPS (default: torchvision's cache, else the weights dir)."""
    workers: int | None = flag(None)
    """Crappify / decode processes."""
    out: Path = flag(Path("runs/gan_restore"))
    """Run folder: generator/, image_gen/, critic/, gan/, eval/, report.md, metrics.json."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.hr = Path(self.hr)
        if self.crappify is not None and self.degrade is not None:
            raise ValueError("give --crappify MODE or --degrade bicubic-xN, not both")
        if self.degrade is None:
            self.crappify = self.crappify or "lesson"
            if self.crappify not in CRAPPIFIERS_NAMES:
                raise ValueError(f"unknown --crappify {self.crappify!r}; choose from "
                                 f"{list(CRAPPIFIERS_NAMES)}")
        elif self.degrade not in BICUBIC_NAMES:
            raise ValueError(f"unknown --degrade {self.degrade!r}; choose from {list(BICUBIC_NAMES)}")
        if not self.hr.is_dir():
            raise ValueError(f"--hr must be a folder of images, got {str(self.hr)!r}")
        if self.eval_hr is not None and not Path(self.eval_hr).is_dir():
            raise ValueError(f"--eval-hr must be a folder of images, got {str(self.eval_hr)!r}")
        check_critic_arch(self.critic_arch, "--critic")
        check_critic_size(self.size, self.critic_n_blocks, "--size", "--critic-n-blocks",
                          self.critic_arch)
        check_critic_crop(self.critic_crop, self.size, self.critic_n_blocks, "--critic-crop",
                          self.critic_arch)
        self.weights_gen = check_weights_gen(tuple(self.weights_gen))
        check_positive(bs=self.bs, critic_epochs=self.critic_epochs, gan_epochs=self.gan_epochs,
                       gen_lr=self.gen_lr, critic_lr=self.critic_lr, gan_lr=self.gan_lr,
                       critic_thresh=self.critic_thresh)
        check_at_least(0, gen_epochs=self.gen_epochs, gen_unfreeze_epochs=self.gen_unfreeze_epochs)
        check_at_least(1, workers=self.workers)


@dataclass(kw_only=True)
class CompareConfig:
    """PSNR / SSIM / LPIPS of two restore-format runs side by side (before vs after the GAN)."""

    before: Path = flag()
    """Run folder before the GAN (the generator)."""
    after: Path = flag()
    """Run folder after the GAN."""
    hr: Path = flag()
    """Folder of clean images to score on."""
    eval_size: int | None = flag(None)
    """HR short side (default: the --after run's training size)."""
    lpips: bool = flag(True)
    """Score LPIPS (--no-lpips: report it as null)."""
    lpips_weights: Path | None = flag(None)
    """AlexNet trunk for LPIPS."""
    device: str = flag("auto")
    """auto (CUDA if available), cpu, cuda, cuda:N or mps."""
    out: Path | None = flag(None)
    """Folder for metrics.json and report.md (default: AFTER/compare_<hr folder>)."""

    def __post_init__(self) -> None:
        from lesson7.configs.flags import check_device

        check_device(self.device)
        self.before, self.after, self.hr = Path(self.before), Path(self.after), Path(self.hr)
        if not self.hr.is_dir():
            raise ValueError(f"--hr {self.hr} is not a folder")
        check_at_least(16, eval_size=self.eval_size)
