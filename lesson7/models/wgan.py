"""DCGAN-style generator and critic for the lesson's WGAN (noise -> image, image -> score).

Scope: the two networks of `lesson7-wgan.ipynb`; losses are in `lesson7.losses.gan`, training in
`lesson7.gan`. Blocks are the lesson's conv_layer (conv -> ReLU/LeakyReLU -> BatchNorm).
Difference from fastai v1 `basic_critic`: it ends in `AvgFlatten` (the mean over the *batch*,
one scalar); ours returns one score per image, (B,), and the losses take the mean. The
Wasserstein losses are unchanged, and the gradient penalty (which needs per-image scores) works.
Refs: Radford et al. 2015 (DCGAN, arXiv:1511.06434); Arjovsky et al. 2017 (WGAN,
arXiv:1701.07875); fastai v1 `fastai/vision/gan.py`.
"""

from __future__ import annotations

from torch import Tensor, nn

from lesson7.models.layers import NormType, conv_layer


def _check_size(in_size: int) -> None:
    if in_size < 8 or in_size & (in_size - 1):
        raise ValueError(f"in_size must be a power of two >= 8 (e.g. 32, 64), got {in_size}")


def basic_generator(in_size: int, n_channels: int, noise_sz: int = 100, n_features: int = 64,
                    n_extra_layers: int = 0, norm_type: NormType = "batch") -> nn.Sequential:
    """(B, noise_sz, 1, 1) noise -> (B, n_channels, in_size, in_size) image in [-1, 1].

    ConvT k4 s1 to 4x4 -> ConvT k4 s2 halving channels up to in_size/2 -> extra 3x3 layers ->
    ConvT to n_channels (no bias) -> Tanh.
    At 64 px, n_features=64: 512@4, 256@8, 128@16, 64@32, 3@64.
    """
    _check_size(in_size)
    cur_size, cur_ftrs = 4, n_features // 2
    while cur_size < in_size:
        cur_size, cur_ftrs = cur_size * 2, cur_ftrs * 2
    up = dict(transpose=True, norm_type=norm_type)
    layers: list[nn.Module] = [conv_layer(noise_sz, cur_ftrs, 4, 1, **up)]  # (B, F, 4, 4)
    cur_size = 4
    while cur_size < in_size // 2:
        layers.append(conv_layer(cur_ftrs, cur_ftrs // 2, 4, 2, 1, **up))  # x2 size
        cur_ftrs, cur_size = cur_ftrs // 2, cur_size * 2
    layers += [conv_layer(cur_ftrs, cur_ftrs, 3, 1, 1, **up) for _ in range(n_extra_layers)]
    layers += [nn.ConvTranspose2d(cur_ftrs, n_channels, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


class BasicCritic(nn.Module):
    """DCGAN critic: image -> one unbounded score per image, (B,)."""

    def __init__(self, in_size: int, n_channels: int, n_features: int = 64, n_extra_layers: int = 0,
                 norm_type: NormType = "batch") -> None:
        super().__init__()
        _check_size(in_size)
        # No norm on the first layer (DCGAN): normalising the raw image hurts.
        layers: list[nn.Module] = [conv_layer(n_channels, n_features, 4, 2, 1, leaky=0.2,
                                              norm_type=None)]
        cur_size, cur_ftrs = in_size // 2, n_features
        layers += [conv_layer(cur_ftrs, cur_ftrs, 3, 1, leaky=0.2, norm_type=norm_type)
                   for _ in range(n_extra_layers)]
        while cur_size > 4:
            layers.append(conv_layer(cur_ftrs, cur_ftrs * 2, 4, 2, 1, leaky=0.2,
                                     norm_type=norm_type))                        # /2 size
            cur_ftrs, cur_size = cur_ftrs * 2, cur_size // 2
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(cur_ftrs, 1, 4, padding=0, bias=False)

    def forward(self, x: Tensor) -> Tensor:  # x: (B, C, S, S)
        h = self.body(x)                       # (B, F, 4, 4)
        return self.head(h).flatten()          # (B,)


def basic_critic(in_size: int, n_channels: int, n_features: int = 64, n_extra_layers: int = 0,
                 norm_type: NormType = "batch") -> BasicCritic:
    """The lesson's WGAN critic. Use `norm_type=None` with the gradient penalty: BatchNorm mixes
    images of a batch, which breaks the per-image gradient norm (Gulrajani et al. 2017, §4)."""
    return BasicCritic(in_size, n_channels, n_features, n_extra_layers, norm_type)
