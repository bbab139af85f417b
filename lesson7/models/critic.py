"""The super-resolution GAN's patch critic (`gan_critic`): real vs generated, one logit per patch.

Scope: the critic network only; its loss (`AdaptiveLoss`) and metric (`accuracy_thresh_expand`)
are in `lesson7.losses.gan`, the training loop in `lesson7.gan`.
Every conv is spectral-normed with LeakyReLU(0.2) and no BatchNorm, as in fastai v1
`fastai/vision/gan.py` (`gan_critic`). The output is a grid of logits, one per receptive-field
patch (5x5 at 128 px), flattened to (B, n_patches): the critic judges every patch separately.
`encoder_critic` is the alternative offered beside it: the pretrained EfficientNet-Lite0 trunk
with a spectral-norm patch head (`make_critic(arch)` picks one by name).
Refs: Miyato et al. 2018 (spectral norm, arXiv:1802.05957); Isola et al. 2017 (PatchGAN,
arXiv:1611.07004); Zhang et al. 2018 (SAGAN self-attention, arXiv:1805.08318).
"""

from __future__ import annotations

from torch import nn

from lesson7.configs.nogan import CRITIC_ARCHS
from lesson7.models.layers import Flatten, NormType, conv_layer, res_block


def gan_critic(n_channels: int = 3, nf: int = 128, n_blocks: int = 3, p: float = 0.15,
               norm_type: NormType = "spectral") -> nn.Sequential:
    """The lesson's patch critic: (B, n_channels, H, W) -> (B, n_patches) logits.

    conv k4 s2 -> Dropout2d(p/2) -> dense res_block (channels x2) -> n_blocks x
    [Dropout2d(p), conv k4 s2 doubling the channels (+ self-attention in the first)] ->
    conv k4 pad 0 to one logit map -> Flatten. At 128 px: 64, 32, 16, 8 -> 5x5 logits.
    `norm_type` other than the lesson's "spectral" is for experiments
    (benchmarks/critic_learning.py).
    """
    if n_channels < 1 or nf < 1 or n_blocks < 0:
        raise ValueError(f"gan_critic needs n_channels, nf >= 1 and n_blocks >= 0, "
                         f"got n_channels={n_channels}, nf={nf}, n_blocks={n_blocks}")
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout p must be in [0, 1), got {p}")
    # Spectral norm bounds each layer's Lipschitz constant, which keeps the critic's gradients
    # useful to the generator (Miyato et al. 2018); LeakyReLU keeps a gradient for negative
    # pre-activations.
    conv_args = dict(leaky=0.2, norm_type=norm_type)

    def _conv(ni: int, nf: int, ks: int = 3, stride: int = 1, **kwargs) -> nn.Sequential:
        return conv_layer(ni, nf, ks=ks, stride=stride, **conv_args, **kwargs)

    layers: list[nn.Module] = [
        _conv(n_channels, nf, ks=4, stride=2),          # (B, nf, H/2, W/2)
        nn.Dropout2d(p / 2),
        res_block(nf, dense=True, **conv_args),       # (B, 2nf, H/2, W/2): dense concat
    ]
    nf *= 2
    for i in range(n_blocks):
        layers += [nn.Dropout2d(p),
                   _conv(nf, nf * 2, ks=4, stride=2, self_attention=(i == 0))]  # halves H, W
        nf *= 2
    layers += [_conv(nf, 1, ks=4, padding=0, bias=False, use_activ=False),  # (B, 1, h, w) logits
               Flatten()]                                                    # (B, h*w)
    return nn.Sequential(*layers)


# -- a critic that learns at our scale ----------------------------------------------------------


class EncoderCritic(nn.Module):
    """ImageNet EfficientNet-Lite0 trunk + a spectral-norm patch head: (B, 3, H, W) -> (B, P).

    Why: the lesson's `gan_critic` starts from random weights and, spectral-normed with no
    activation normalisation, sits at chance for ~1,700 steps on our data
    (benchmarks/critic_learning.py). A pretrained trunk already separates textures and colours,
    so only the head has to learn what "generated" looks like; DeOldify's author asked the same
    ("why not a ResNet with spectral norm as the critic?"), and Projected GANs (Sauer et al. 2021,
    arXiv:2111.01007) show pretrained critic features speed GAN training up a lot.
    The trunk's BatchNorm layers stay in eval mode (ImageNet running statistics) even while the
    critic trains: a critic batch holds only real or only generated images, so batch statistics
    would let it tell them apart by the batch and not by the image. The head is spectral-normed
    with LeakyReLU(0.2), as the lesson's critic, so its gradient to the generator stays bounded
    (Miyato et al. 2018). Input: ImageNet-normalised RGB, like the lesson's critic; one logit per
    /32 patch (4x4 at 128 px), flattened.
    """

    def __init__(self, pretrained: bool = True, head_nf: int = 256, p: float = 0.15) -> None:
        super().__init__()
        from lesson7.models.efficientnet import efficientnet_lite0, efficientnet_lite_body

        if head_nf < 1 or not 0.0 <= p < 1.0:
            raise ValueError(f"encoder_critic needs head_nf >= 1 and p in [0, 1), got "
                             f"head_nf={head_nf}, p={p}")
        self.body = nn.Sequential(*efficientnet_lite_body(efficientnet_lite0(pretrained)))
        c = self.body[-1][-1]._bn2.num_features                  # 320 channels at /32
        self.head = nn.Sequential(
            nn.Dropout2d(p),
            conv_layer(c, head_nf, ks=3, leaky=0.2, norm_type="spectral"),
            conv_layer(head_nf, 1, ks=1, bias=False, use_activ=False, norm_type="spectral"),
            Flatten())                                            # (B, h*w) logits

    def train(self, mode: bool = True) -> EncoderCritic:
        super().train(mode)
        for m in self.body.modules():  # ImageNet statistics, never this batch's (see above)
            if isinstance(m, nn.BatchNorm2d):
                m.eval()
        return self

    def forward(self, x):                                         # x: (B, 3, H, W)
        return self.head(self.body(x))                            # (B, (H/32)*(W/32))


def encoder_critic(pretrained: bool = True, head_nf: int = 256, p: float = 0.15) -> EncoderCritic:
    """The critic on the pretrained EfficientNet-Lite0 encoder (see `EncoderCritic`)."""
    return EncoderCritic(pretrained, head_nf, p)


def make_critic(arch: str = "lesson", n_channels: int = 3, nf: int = 128, n_blocks: int = 3,
                pretrained: bool = True) -> nn.Module:
    """A critic by name: "lesson" -> gan_critic(n_channels, nf, n_blocks); "encoder" ->
    encoder_critic(pretrained) (RGB only; nf and n_blocks do not apply)."""
    if arch == "lesson":
        return gan_critic(n_channels, nf, n_blocks)
    if arch == "encoder":
        if n_channels != 3:
            raise ValueError(f"the encoder critic takes RGB images, got n_channels={n_channels}")
        return encoder_critic(pretrained)
    raise ValueError(f"unknown critic {arch!r}; choose from {list(CRITIC_ARCHS)}")
