"""An exponential moving average of the generator's weights, updated after every generator step.

GAN generators oscillate around a good solution instead of settling on it; averaging their
weights over the last few hundred steps gives markedly better samples at no training cost
(Yazici et al. 2019, "The Unusual Effectiveness of Averaging in GAN Training", arXiv:1806.04498;
Karras et al. 2018 sample from such an average in ProGAN). The averaging itself is torch's
`torch.optim.swa_utils.AveragedModel` with its EMA rule; BatchNorm statistics are averaged too
(`use_buffers=True`), so the average can be sampled in eval mode directly.
"""

from __future__ import annotations

from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from lesson7.train.callbacks import Callback

__all__ = ["GeneratorEMA"]


class GeneratorEMA(Callback):
    """Keep `self.average` (an `AveragedModel` of the GAN's generator) after each generator step."""

    order = 20  # after GANTrainer's after_step (weights final for this batch); any order works

    def __init__(self, generator: nn.Module, decay: float) -> None:
        if not 0 < decay < 1:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.average = AveragedModel(generator, multi_avg_fn=get_ema_multi_avg_fn(decay),
                                     use_buffers=True)
        self.average.requires_grad_(False)

    def after_step(self, learn) -> None:
        gan = learn.model
        if gan.gen_mode:
            self.average.update_parameters(gan.generator)

    def copy_to(self, generator: nn.Module) -> None:
        """Load the averaged weights (and BatchNorm statistics) into `generator`."""
        generator.load_state_dict(self.average.module.state_dict())
