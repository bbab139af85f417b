"""The lesson's MNIST models, built from scratch (`lesson7-resnet-mnist.ipynb`).

Three steps of the same idea: a plain stride-2 CNN (28→14→7→4→2→1), the same with `conv_layer`,
and a "ResNet-ish" one with a `res_block` after each stride-2 conv. Ref: He et al. 2015.
"""

from __future__ import annotations

from torch import nn

from lesson7.models.layers import Flatten, conv_layer, res_block


def _conv(ni: int, nf: int) -> nn.Conv2d:
    return nn.Conv2d(ni, nf, kernel_size=3, stride=2, padding=1)


def mnist_basic() -> nn.Sequential:
    """Basic CNN: 5 × (conv s2 → BN → ReLU), the last without ReLU. 12,126 parameters."""
    return nn.Sequential(
        _conv(1, 8), nn.BatchNorm2d(8), nn.ReLU(),      # 14
        _conv(8, 16), nn.BatchNorm2d(16), nn.ReLU(),    # 7
        _conv(16, 32), nn.BatchNorm2d(32), nn.ReLU(),   # 4
        _conv(32, 16), nn.BatchNorm2d(16), nn.ReLU(),   # 2
        _conv(16, 10), nn.BatchNorm2d(10),              # 1
        Flatten(),                                      # (B, 10)
    )


def conv2(ni: int, nf: int) -> nn.Sequential:
    """The lesson's `conv2`: a stride-2 conv_layer (conv → ReLU → BN)."""
    return conv_layer(ni, nf, stride=2)


def mnist_refactor() -> nn.Sequential:
    """The basic CNN rewritten with `conv_layer` (bias-free convs). 12,044 parameters."""
    return nn.Sequential(conv2(1, 8), conv2(8, 16), conv2(16, 32), conv2(32, 16), conv2(16, 10),
                         Flatten())


def conv_and_res(ni: int, nf: int) -> nn.Sequential:
    """Halve the resolution, then refine with a residual block."""
    return nn.Sequential(conv2(ni, nf), res_block(nf))


def mnist_resnet() -> nn.Sequential:
    """The lesson's ResNet-ish model. 41,132 parameters; 99.5 % on MNIST in 12 epochs."""
    return nn.Sequential(
        conv_and_res(1, 8),    # (B, 8, 14, 14)
        conv_and_res(8, 16),   # (B, 16, 7, 7)
        conv_and_res(16, 32),  # (B, 32, 4, 4)
        conv_and_res(32, 16),  # (B, 16, 2, 2)
        conv2(16, 10),         # (B, 10, 1, 1)
        Flatten(),             # (B, 10)
    )


MNIST_MODELS = {"basic": mnist_basic, "refactor": mnist_refactor, "resnet": mnist_resnet}
