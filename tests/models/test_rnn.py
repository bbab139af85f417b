"""Human-numbers RNNs: Model0 = Model1 (B9 fixed), carried and detached state, overfitting."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lesson7.models.rnn import (
    HUMAN_NUMBERS_MODELS,
    BatchNorm1dFlat,
    LSTMModel,
    Model0,
    Model1,
    Model4,
    StatefulRNN,
    human_numbers_model,
)

NV = 38
STATEFUL = [name for name, cls in HUMAN_NUMBERS_MODELS.items() if issubclass(cls, StatefulRNN)]


@pytest.fixture(autouse=True)
def _seed_and_one_thread():
    """Tiny RNNs: one thread is fastest; on a busy 2-core box two threads can be 10x slower."""
    torch.manual_seed(0)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("seq", [1, 2, 3])
def test_model0_equals_model1_for_equal_weights(train: bool, seq: int) -> None:
    m0, m1 = Model0(NV), Model1(NV)
    with torch.no_grad():  # non-trivial BN statistics so eval mode is tested too
        m0.bn.running_mean.uniform_(-1, 1)
        m0.bn.running_var.uniform_(0.5, 2)
    m1.load_state_dict(m0.state_dict())
    m0.train(train), m1.train(train)
    x = torch.randint(0, NV, (16, seq))
    torch.testing.assert_close(m0(x), m1(x), rtol=0, atol=0)


def test_model0_first_step_goes_through_h_h() -> None:
    # B9: the recorded notebook computed step 1 as bn(relu(i_h(x0))), so h_h did not matter there.
    model = Model0(NV).eval()
    x = torch.randint(0, NV, (8, 1))
    before = model(x)
    with torch.no_grad():
        model.h_h.weight.mul_(2)
    assert not torch.allclose(before, model(x))


def test_model0_refuses_more_than_three_tokens() -> None:
    with pytest.raises(ValueError, match="1 to 3 tokens"):
        Model0(NV)(torch.zeros(2, 4, dtype=torch.long))


@pytest.mark.parametrize("name", list(HUMAN_NUMBERS_MODELS))
def test_shapes_and_every_parameter_learns(name: str) -> None:
    model = human_numbers_model(name, NV)
    x = torch.randint(0, NV, (4, 3))
    out = model(x)
    assert out.shape == ((4, NV) if name in ("0", "1") else (4, 3, NV))
    out.float().pow(2).mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_unknown_model_name() -> None:
    with pytest.raises(ValueError, match="'6'"):
        human_numbers_model("6", NV)


@pytest.mark.parametrize("name", STATEFUL)
def test_state_is_detached_so_the_graph_does_not_grow(name: str) -> None:
    model = human_numbers_model(name, NV)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):  # without the detach, the 2nd backward reaches the freed 1st graph and fails
        x, y = torch.randint(0, NV, (4, 5)), torch.randint(0, NV, (4, 5))
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        loss.backward()
        opt.step(), opt.zero_grad()
        states = model.state if isinstance(model.state, tuple) else (model.state,)
        assert all(s.grad_fn is None and not s.requires_grad for s in states)


@pytest.mark.parametrize("name", STATEFUL)
def test_state_carries_across_batches_like_one_long_sequence(name: str) -> None:
    # In eval mode (fixed BN statistics, no dropout), two batches with a carried state must
    # give the same outputs as one batch twice as long: the loader's rows continue.
    model = human_numbers_model(name, NV).eval()
    x = torch.randint(0, NV, (4, 10))
    whole = model(x)
    model.reset()
    halves = torch.cat([model(x[:, :6]), model(x[:, 6:])], dim=1)
    torch.testing.assert_close(halves, whole)
    model(x[:, :6])
    model.reset()  # what ResetState does before training and validation
    after_reset = model(x[:, 6:])
    assert not torch.allclose(after_reset, whole[:, 6:])  # the carried state mattered
    torch.testing.assert_close(after_reset, _never_run_copy(model)(x[:, 6:]))


def _never_run_copy(model: StatefulRNN) -> StatefulRNN:
    """The same weights in a model that has never seen a batch (its state was never set)."""
    twin = type(model)(NV)
    twin.load_state_dict(model.state_dict())
    return twin.train(model.training)


@pytest.mark.parametrize("name", STATEFUL)
def test_batch_size_change_restarts_from_zero_state(name: str) -> None:
    model = human_numbers_model(name, NV).eval()
    model(torch.randint(0, NV, (8, 5)))  # leaves an 8-row state
    small = torch.randint(0, NV, (3, 5))
    out = model(small)  # must not fail on the 8-row state
    torch.testing.assert_close(out, _never_run_copy(model)(small))


def test_lstm_ties_weights_and_keeps_activations_for_ar_tar() -> None:
    model = LSTMModel(NV, p=0.4)
    assert model.h_o.weight is model.i_h.weight
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params == sum(p.numel() for n, p in model.named_parameters() if n != "h_o.weight")
    model(torch.randint(0, NV, (4, 7)))
    assert model.raw_out.shape == model.dropped_out.shape == (4, 7, 64)
    assert (model.dropped_out == 0).float().mean() > (model.raw_out == 0).float().mean()
    with pytest.raises(ValueError, match="dropout"):
        LSTMModel(NV, p=1.0)


def test_batchnorm1d_flat_normalises_over_batch_and_time() -> None:
    flat, ref = BatchNorm1dFlat(6), nn.BatchNorm1d(6)
    x = torch.randn(4, 5, 6) * 3 + 1
    torch.testing.assert_close(flat(x), ref(x.reshape(20, 6)).view(4, 5, 6))
    torch.testing.assert_close(flat.running_mean, ref.running_mean)


def test_tiny_gru_overfits_a_short_counting_sequence() -> None:
    # "one , two , three , ..." : the next token is fully determined after a few tokens.
    words = torch.arange(8, 20)  # 12 ids standing for words
    seq = torch.stack([words, torch.full_like(words, 8)], dim=1).flatten().repeat(4)  # w , w , ...
    x, y = seq[:80].reshape(4, 20), seq[1:81].reshape(4, 20)  # y = x shifted by one
    model = human_numbers_model("5", NV, n_hidden=32)
    opt = torch.optim.Adam(model.parameters(), lr=2e-2)
    for _ in range(60):
        model.reset()
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        opt.zero_grad(), loss.backward(), opt.step()
    model.eval().reset()
    acc = (model(x).argmax(-1) == y).float().mean()
    assert loss.item() < 0.1 and acc > 0.95


def test_model4_is_nn_rnn_under_the_hood() -> None:
    model = Model4(NV).eval()
    x = torch.randint(0, NV, (2, 4))
    out, _ = model.rnn(model.i_h(x))
    torch.testing.assert_close(model(x), model.h_o(model.bn(out)))
