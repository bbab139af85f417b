"""The two callbacks a stateful language model needs (fastai v2 `fastai/callback/rnn.py`).

`ResetState` zeroes the hidden state where the text stream changes (fastai's `ModelResetter`);
`RNNRegularizer` adds activation (AR) and temporal activation (TAR) regularisation
(Merity et al. 2017, arXiv:1708.02182, §4.6).
"""

from __future__ import annotations

import torch

from lesson7.train import Callback, Learner

__all__ = ["ResetState", "RNNRegularizer"]


class ResetState(Callback):
    """Zero a stateful model's hidden state before training and before validation.

    The train and valid streams are different texts: a state carried from the end of one into
    the other would be noise (fastai's ``ModelResetter``).
    """

    order = 0

    def before_train(self, learn: Learner) -> None:
        _reset(learn.model)

    def before_validate(self, learn: Learner) -> None:
        _reset(learn.model)


def _reset(model: torch.nn.Module) -> None:
    if callable(getattr(model, "reset", None)):
        model.reset()


class RNNRegularizer(Callback):
    """Activation (AR) and temporal activation (TAR) regularisation, added to the training loss.

    AR, ``alpha * mean(dropped_out²)``, keeps activations small; TAR,
    ``beta * mean((h_t - h_{t-1})²)`` on the output before dropout, keeps them from jumping
    between steps (Merity et al. 2017, arXiv:1708.02182, §4.6). The model exposes ``raw_out``
    and ``dropped_out`` (``LSTMModel``).
    Runs after the Recorder (order 90), so ``train_loss`` stays the plain cross-entropy.
    """

    order = 91

    def __init__(self, alpha: float = 2.0, beta: float = 1.0) -> None:
        self.alpha, self.beta = alpha, beta

    def after_loss(self, learn: Learner) -> None:
        raw = getattr(learn.model, "raw_out", None)
        dropped = getattr(learn.model, "dropped_out", None)
        if not learn.training or raw is None or dropped is None:
            return
        learn.loss = learn.loss + self.alpha * dropped.float().pow(2).mean()
        if raw.shape[1] > 1:
            learn.loss = learn.loss + self.beta * (raw[:, 1:] - raw[:, :-1]).float().pow(2).mean()
