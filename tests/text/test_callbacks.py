"""The RNN callbacks: `ResetState` empties the hidden state where the text changes, and
`RNNRegularizer` adds AR/TAR to the trained loss only."""

from pathlib import Path

import pytest
import torch

from lesson7.models.rnn import LSTMModel, Model5
from lesson7.text.callbacks import ResetState, RNNRegularizer
from lesson7.text.lm_loader import LMDataBunch, LMLoader
from lesson7.text.train import cross_entropy_flat
from lesson7.text.vocab import Vocab
from lesson7.train import Callback, Learner

pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_data(n_tokens: int = 2000, bs: int = 8, bptt: int = 10, nv: int = 20) -> LMDataBunch:
    torch.manual_seed(0)
    stream = torch.arange(n_tokens) % (nv - 8) + 8  # a counting sequence over the word ids
    vocab = Vocab.build([str(i) for i in range(nv - 8)], min_freq=1)
    return LMDataBunch(LMLoader(stream, bs=bs, bptt=bptt), LMLoader(stream[:400], bs=bs, bptt=bptt),
                       vocab)


class _StateAtEvents(Callback):
    """Records, after ResetState ran, whether the model's state was empty at each phase start."""

    order = 1

    def __init__(self) -> None:
        self.seen: list[tuple[str, bool]] = []

    def before_train(self, learn: Learner) -> None:
        self.seen.append(("train", learn.model.state is None))

    def before_validate(self, learn: Learner) -> None:
        self.seen.append(("valid", learn.model.state is None))


def test_reset_state_runs_before_training_and_validation(tmp_path: Path) -> None:
    data = tiny_data()
    model = Model5(len(data.vocab), n_hidden=16)
    probe = _StateAtEvents()
    learn = Learner(model, data, cross_entropy_flat, cbs=[ResetState(), probe], path=tmp_path,
                    device="cpu", progress=False)
    learn.recorder.printer = None
    learn.fit(2, 1e-3)
    assert probe.seen == [("train", True), ("valid", True)] * 2
    assert model.state is not None  # and the state is carried within a phase


def test_rnn_regularizer_adds_ar_tar_to_the_trained_loss_only(tmp_path: Path) -> None:
    data = tiny_data()
    model = LSTMModel(len(data.vocab), n_hidden=16, p=0.0)

    class Capture(Callback):
        order = 92  # after RNNRegularizer (91): sees the loss that is back-propagated

        def __init__(self) -> None:
            self.pairs: list[tuple[float, float]] = []

        def after_loss(self, learn: Learner) -> None:
            if learn.training:
                raw = learn.model.raw_out
                ar_tar = 2.0 * raw.pow(2).mean() + 1.0 * (raw[:, 1:] - raw[:, :-1]).pow(2).mean()
                plain = cross_entropy_flat(learn.pred, learn.yb)
                self.pairs.append((learn.loss.item(), (plain + ar_tar).item()))

    capture = Capture()
    learn = Learner(model, data, cross_entropy_flat, cbs=[ResetState(), RNNRegularizer(2.0, 1.0),
                                                          capture], path=tmp_path, device="cpu",
                    progress=False)
    learn.recorder.printer = None
    learn.fit(1, 1e-3)
    assert capture.pairs and all(abs(a - b) < 1e-5 for a, b in capture.pairs)
    recorded = learn.recorder.batch_losses
    # the Recorder's train_loss is the plain cross-entropy, below the regularised loss
    assert all(r < a for r, (a, _) in zip(recorded, capture.pairs, strict=True))
