import json

import pytest
import torch
from conftest import TensorData
from torch import nn

from lesson7.train import (
    EVENTS,
    Callback,
    CancelBatch,
    Learner,
    TerminateOnNaN,
    WallClockCycle,
    accuracy,
    error_rate,
)
from lesson7.train.optim import lr_per_group


def small_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(10, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 2))


def two_groups(m):
    return [list(m[0].parameters()) + list(m[1].parameters()), list(m[3].parameters())]


class RecordEvents(Callback):
    def __init__(self):
        self.seen = []
    def __getattr__(self, name):
        if name in EVENTS:
            return lambda learn: self.seen.append(name)
        raise AttributeError(name)


def test_event_order(toy_data):
    toy_data.train_dl.x, toy_data.train_dl.y = toy_data.train_dl.x[:32], toy_data.train_dl.y[:32]
    toy_data.valid_dl.x, toy_data.valid_dl.y = toy_data.valid_dl.x[:32], toy_data.valid_dl.y[:32]
    rec = RecordEvents()
    learn = Learner(small_model(), toy_data, nn.CrossEntropyLoss(), cbs=[rec], progress=False)
    learn.fit(1, 1e-3)
    batch_train = ["before_batch", "after_pred", "after_loss", "after_backward", "after_step",
                   "after_batch", "cleanup_batch"]
    batch_valid = ["before_batch", "after_pred", "after_loss", "after_batch", "cleanup_batch"]
    assert rec.seen == (["before_fit", "before_epoch", "before_train"] + batch_train
                        + ["after_train", "cleanup_train", "before_validate"] + batch_valid
                        + ["after_validate", "cleanup_validate", "after_epoch", "cleanup_epoch",
                           "after_fit", "cleanup_fit"])


def test_emit_rejects_unknown_event(toy_data):
    learn = Learner(small_model(), toy_data, nn.CrossEntropyLoss())
    with pytest.raises(ValueError, match="unknown event"):
        learn.emit("before_lunch")


def test_cancel_batch_skips_the_step(toy_data):
    class Skip(Callback):
        def after_loss(self, learn):
            if learn.training:
                raise CancelBatch
    m = small_model()
    before = [p.clone() for p in m.parameters()]
    Learner(m, toy_data, nn.CrossEntropyLoss(), cbs=[Skip()]).fit(1, 1e-2)
    assert all(torch.equal(a, b) for a, b in zip(before, m.parameters(), strict=False))


def test_learner_trains_and_records_metrics(toy_data):
    learn = Learner(small_model(), toy_data, nn.CrossEntropyLoss(), metrics=[accuracy, error_rate])
    learn.fit_one_cycle(6, 5e-2)
    h = learn.recorder.history
    assert [r["epoch"] for r in h] == [0, 1, 2, 3, 4, 5]
    assert h[-1]["accuracy"] > 0.9 and h[-1]["accuracy"] + h[-1]["error_rate"] == pytest.approx(1)
    assert h[-1]["train_loss"] < h[0]["train_loss"]


def test_fit_one_cycle_drives_lr_and_momentum(toy_data):
    seen = []
    class Spy(Callback):
        order = 50
        def before_batch(self, learn):
            if learn.training:
                g = learn.opt.param_groups[0]
                seen.append((g["lr"], g["betas"][0]))
    Learner(small_model(), toy_data, nn.CrossEntropyLoss(), cbs=[Spy()]).fit_one_cycle(2, 0.01)
    lrs, moms = zip(*seen, strict=False)
    assert lrs[0] == pytest.approx(0.01 / 25) and max(lrs) == pytest.approx(0.01, rel=0.05)
    assert lrs[-1] == pytest.approx(0.01 / 25e4)
    assert moms[0] == pytest.approx(0.95) and min(moms) == pytest.approx(0.85, abs=0.01)


def test_lr_per_group():
    assert lr_per_group(slice(3e-3), 3) == pytest.approx([3e-4, 3e-4, 3e-3])
    assert lr_per_group(slice(1e-6, 1e-3), 3) == pytest.approx([1e-6, 10**-4.5, 1e-3])
    assert lr_per_group(0.1, 2) == [0.1, 0.1]
    with pytest.raises(ValueError, match="3 layer groups"):
        lr_per_group([1e-3, 1e-2], 3)
    with pytest.raises(ValueError, match="> 0"):
        lr_per_group(-1.0, 1)


def test_freeze_unfreeze_and_discriminative_lrs(toy_data):
    m = small_model()
    learn = Learner(m, toy_data, nn.CrossEntropyLoss(), splitter=two_groups)
    learn.freeze()
    assert not m[0].weight.requires_grad and not m[0].bias.requires_grad
    assert m[1].weight.requires_grad and m[1].bias.requires_grad  # BatchNorm stays trainable
    assert m[3].weight.requires_grad
    before = m[0].weight.clone()
    learn.fit(1, slice(1e-2))
    assert torch.equal(before, m[0].weight)
    lrs = {g["layer_group"]: g["lr"] for g in learn.opt.param_groups}
    assert lrs == pytest.approx({0: 1e-3, 1: 1e-2})
    learn.unfreeze()
    assert all(p.requires_grad for p in m.parameters())
    learn.fit(1, slice(1e-2))
    assert not torch.equal(before, m[0].weight)


def test_bn_wd_false_exempts_norm_and_bias(toy_data):
    learn = Learner(small_model(), toy_data, nn.CrossEntropyLoss(), bn_wd=False, wd=0.1)
    opt = learn.create_opt()
    decayed = {id(p) for g in opt.param_groups if g["weight_decay"] > 0 for p in g["params"]}
    m = learn.model
    assert id(m[0].weight) in decayed and id(m[0].bias) not in decayed
    assert id(m[1].weight) not in decayed


def test_checkpoint_round_trip(toy_data, tmp_path):
    learn = Learner(small_model(), toy_data, nn.CrossEntropyLoss(), path=tmp_path)
    learn.fit(1, 1e-2)
    path = learn.save("ck", note="hello")
    assert path.exists() and json.loads(path.with_suffix(".json").read_text())["note"] == "hello"
    assert not list(tmp_path.glob("*.part"))
    other = Learner(nn.Sequential(nn.Linear(10, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 2)),
                    toy_data, nn.CrossEntropyLoss(), path=tmp_path)
    other.load("ck")
    for (k, a), b in zip(learn.model.state_dict().items(), other.model.state_dict().values(), strict=False):
        assert torch.equal(a, b), k
    sa, sb = learn.opt.state_dict()["state"], other.opt.state_dict()["state"]
    assert torch.equal(sa[0]["exp_avg"], sb[0]["exp_avg"])


def test_checkpoint_from_other_architecture_is_a_clear_error(toy_data, tmp_path):
    learn = Learner(small_model(), toy_data, nn.CrossEntropyLoss(), path=tmp_path)
    learn.save("ck")
    wrong = Learner(nn.Sequential(nn.Linear(10, 4)), toy_data, nn.CrossEntropyLoss(), path=tmp_path)
    with pytest.raises(ValueError, match="does not match this model"):
        wrong.load("ck")


def test_lr_find_restores_weights_and_suggests(toy_data, tmp_path):
    learn = Learner(small_model(), toy_data, nn.CrossEntropyLoss(), path=tmp_path)
    before = {k: v.clone() for k, v in learn.model.state_dict().items()}
    lr = learn.lr_find(num_it=20)
    assert 1e-7 < lr < 10
    assert (tmp_path / "lr_find.png").exists()
    assert all(torch.equal(before[k], v) for k, v in learn.model.state_dict().items())
    assert learn.recorder.history == []


def test_tiny_model_overfits_one_batch():
    torch.manual_seed(0)
    x, y = torch.randn(16, 10), torch.randint(0, 4, (16,))
    data = TensorData(x, y, bs=16)
    learn = Learner(nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 4)), data,
                    nn.CrossEntropyLoss(), metrics=[accuracy], wd=0)
    learn.fit(60, 1e-2)
    assert learn.recorder.history[-1]["accuracy"] == 1.0


def test_nan_loss_stops_with_clear_message(toy_data):
    from lesson7.train import TerminateOnNaN
    learn = Learner(small_model(), toy_data, lambda p, y: p.sum() * float("nan"), cbs=[TerminateOnNaN()])
    with pytest.raises(FloatingPointError, match="loss became nan"):
        learn.fit(1, 1e-3)


def test_plot_loss_writes_png(toy_data, tmp_path):
    learn = Learner(small_model(), toy_data, nn.CrossEntropyLoss())
    learn.fit(2, 1e-3)
    assert learn.recorder.plot_loss(tmp_path / "loss.png").stat().st_size > 1000


def test_cancel_in_before_event_skips_stage(toy_data):
    from lesson7.train import CancelEpoch
    class NoValid(Callback):
        def before_validate(self, learn):
            raise CancelEpoch
    learn = Learner(small_model(), toy_data, nn.CrossEntropyLoss(), cbs=[NoValid()])
    learn.fit(1, 1e-3)
    assert "valid_loss" not in learn.recorder.history[0] and "train_loss" in learn.recorder.history[0]


class PoisonWeights(Callback):
    """Divergence stand-in: a NaN weight at the end of epoch `at` (before TerminateOnNaN: 15)."""

    order = 14

    def __init__(self, at: int) -> None:
        self.at = at

    def after_epoch(self, learn):
        if learn.epoch == self.at:
            with torch.no_grad():
                next(learn.model.parameters()).view(-1)[0] = float("nan")


def test_nan_weights_stop_before_the_epoch_is_saved(toy_data, tmp_path):
    """Issue 11 item 3: a NaN epoch never replaces the last good resume point."""
    from lesson7.train import SaveEveryEpoch

    learn = Learner(small_model(), toy_data, nn.CrossEntropyLoss(), path=tmp_path, progress=False)
    state = tmp_path / "state" / "last"
    with pytest.raises(FloatingPointError, match="non-finite weights .* after epoch 1"):
        learn.fit(3, 1e-3, cbs=[TerminateOnNaN(), SaveEveryEpoch(state), PoisonWeights(at=1)])
    from lesson7.train.checkpoint import checkpoint_metadata, load_safetensors

    assert checkpoint_metadata(state)["epoch"] == 1  # epoch 0's save; epoch 1 never written
    assert all(v.isfinite().all() for v in load_safetensors(state.with_suffix(".safetensors"))
               .values())


def test_a_non_finite_validation_loss_stops_training(toy_data):
    class InfValid:  # finite while training, inf on validation
        def __call__(self, pred, y):
            loss = nn.functional.cross_entropy(pred, y)
            return loss if pred.requires_grad else loss * float("inf")

    learn = Learner(small_model(), toy_data, InfValid(), cbs=[TerminateOnNaN()], progress=False)
    with pytest.raises(FloatingPointError, match="valid_loss inf after epoch 0"):
        learn.fit(2, 1e-3)


class FakeClock:
    """A clock that advances `step` seconds every time it is read."""
    def __init__(self, step):
        self.t, self.step = 0.0, step
    def __call__(self):
        self.t += self.step
        return self.t


def test_wall_clock_cycle_runs_a_whole_one_cycle_in_the_budget(toy_data):
    seen = []
    class Spy(Callback):
        order = 50
        def before_batch(self, learn):
            if learn.training:
                seen.append((learn.pct_train, learn.opt.param_groups[0]["lr"]))
    budget = WallClockCycle(1.0, clock=FakeClock(0.01))
    learn = Learner(small_model(), toy_data, nn.CrossEntropyLoss(), cbs=[Spy()], progress=False)
    learn.fit_one_cycle(10_000, 0.01, cbs=[budget])  # far more epochs than the budget allows
    pcts, lrs = zip(*seen, strict=True)
    assert budget.elapsed >= 1.0 and budget.batches == len(seen) < 100  # stopped at the budget
    assert list(pcts) == sorted(pcts) and pcts[0] < 0.05 and pcts[-1] > 0.9  # follows the clock
    assert lrs[0] == pytest.approx(0.01 / 25, rel=0.2) and max(lrs) == pytest.approx(0.01, rel=0.05)
    assert lrs[-1] < 0.01 / 25  # annealed by the end of the budget, not cut mid-cycle
    assert learn.pct_clock is None  # later fits count iterations again


def test_wall_clock_cycle_skips_a_validation_past_the_budget(toy_data):
    clock = FakeClock(0.0)
    class Jump(Callback):  # the budget runs out exactly as the training epoch ends
        def after_train(self, learn):
            clock.t += 5.0
    learn = Learner(small_model(), toy_data, nn.CrossEntropyLoss(), cbs=[Jump()], progress=False)
    budget = WallClockCycle(1.0, clock=clock)
    learn.fit(3, 1e-3, cbs=[budget])
    assert learn.recorder.history == []  # no validation pass, no epoch row
    assert budget.batches == len(toy_data.train_dl) and budget.elapsed >= 1.0
    with pytest.raises(ValueError, match="> 0"):
        WallClockCycle(0)


def test_a_loss_network_moves_with_the_model(toy_data):
    # A module loss (VGG features) left behind on the CPU broke `--device cuda` runs of
    # train_colorizer; the Learner moves it to its own device, as it does the model.
    class RecordingLoss(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(1, 1)
            self.moved_to = []
        def to(self, *args, **kwargs):
            self.moved_to.append(args[0] if args else kwargs.get("device"))
            return super().to(*args, **kwargs)
        def forward(self, pred, target):
            return nn.functional.cross_entropy(pred, target)

    loss = RecordingLoss()
    learn = Learner(small_model(), toy_data, loss)
    assert loss.moved_to == [learn.device]
