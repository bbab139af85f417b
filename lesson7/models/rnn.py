"""Human-numbers language models, from a hand-unrolled RNN to a 2-layer GRU and a tied LSTM.

Scope: the models of Lesson 7's "human numbers" notebook (Model0-Model5, nh=64) and fastbook's
``LMModel7``; every model maps token ids ``(B, T)`` to logits. Loss, metrics and training live in
``lesson7.tasks.numbers``; data in ``lesson7.text``.

The arrows of the lesson's diagrams: ``i_h`` input -> hidden (green, an embedding), ``h_h``
hidden -> hidden (brown), ``h_o`` hidden -> output (blue).

Deliberate differences from the notebook (course-v3 HEAD, 2019-01-25; B9 as in
docs/architecture.md, Differences from fastai v1):

- **B9**: the notebook's Model0 computes its first step as ``bn(relu(i_h(x0)))``, without
  ``h_h``, so it is not the same function as Model1; its recorded numbers (acc4 0.409) predate
  the fix (https://github.com/fastai/course-v3/pull/298). Our Model0 applies ``h_h`` on every
  step, and ``Model0`` and ``Model1`` give identical outputs for identical weights.
- Stateful models (Model3-5, the LSTM) allocate their hidden state lazily on the input's device
  and batch size instead of ``torch.zeros(bs, nh).cuda()`` at construction: a batch of another
  size (e.g. ``get_preds`` on a smaller set) or a device move starts from a zero state instead
  of crashing. ``reset()`` zeroes it; the ``ResetState`` callback calls it at the start of
  training and of validation.

Refs: fastai course-v3 ``nbs/dl1/lesson7-human-numbers.ipynb``; fastbook ``12_nlp_dive.ipynb``
(``LMModel7``); fastai v1 ``fastai/layers.py`` (``BatchNorm1dFlat``); Press & Wolf 2017, "Using
the Output Embedding to Improve Language Models" (arXiv:1608.05859, weight tying); Merity et al.
2017 (arXiv:1708.02182, AR/TAR, dropout).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "BatchNorm1dFlat",
    "StatefulRNN",
    "Model0",
    "Model1",
    "Model2",
    "Model3",
    "Model4",
    "Model5",
    "LSTMModel",
    "HUMAN_NUMBERS_MODELS",
    "human_numbers_model",
]

State = Tensor | tuple[Tensor, ...]


def _first(state: State) -> Tensor:
    return state[0] if isinstance(state, tuple) else state


def _same_layout(old: Tensor, new: Tensor) -> bool:
    # Not the dtype: under autocast an RNN returns a float16 state for a float32 input.
    return old.shape == new.shape and old.device == new.device


class BatchNorm1dFlat(nn.BatchNorm1d):
    """``BatchNorm1d`` over the last dim of ``(B, T, C)``: each step of each row is a sample."""

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() == 2:
            return super().forward(x)
        *lead, c = x.shape
        flat = super().forward(x.reshape(-1, c))  # (B*T, C)
        return flat.view(*lead, c)                # (B, T, C)


class Model0(nn.Module):
    """Three tokens by hand: read x0, x1, x2, predict the 4th ("single fully connected model")."""

    def __init__(self, vocab_size: int, n_hidden: int = 64):
        super().__init__()
        self.i_h = nn.Embedding(vocab_size, n_hidden)  # green arrow
        self.h_h = nn.Linear(n_hidden, n_hidden)       # brown arrow
        self.h_o = nn.Linear(n_hidden, vocab_size)     # blue arrow
        self.bn = nn.BatchNorm1d(n_hidden)

    def forward(self, x: Tensor) -> Tensor:  # x: (B, T) token ids, 1 <= T <= 3
        if not 1 <= x.shape[1] <= 3:
            raise ValueError(f"Model0 reads 1 to 3 tokens (bptt 3), got {x.shape[1]}")
        h = self.bn(F.relu(self.h_h(self.i_h(x[:, 0]))))  # (B, H); h_h here too: fix B9
        if x.shape[1] > 1:
            h = self.bn(F.relu(self.h_h(h + self.i_h(x[:, 1]))))
        if x.shape[1] > 2:
            h = self.bn(F.relu(self.h_h(h + self.i_h(x[:, 2]))))
        return self.h_o(h)  # (B, V): the token after the last one


class Model1(nn.Module):
    """Model0 as a loop from ``h = 0``, for any number of tokens; predicts after the last."""

    def __init__(self, vocab_size: int, n_hidden: int = 64):
        super().__init__()
        self.i_h = nn.Embedding(vocab_size, n_hidden)
        self.h_h = nn.Linear(n_hidden, n_hidden)
        self.h_o = nn.Linear(n_hidden, vocab_size)
        self.bn = nn.BatchNorm1d(n_hidden)

    def forward(self, x: Tensor) -> Tensor:  # x: (B, T)
        h = x.new_zeros(x.shape[0], self.h_h.in_features, dtype=self.h_h.weight.dtype)  # (B, H)
        for i in range(x.shape[1]):
            h = self.bn(F.relu(self.h_h(h + self.i_h(x[:, i]))))
        return self.h_o(h)  # (B, V)


class Model2(nn.Module):
    """Predict after every token ("multi fully connected"); ``h`` starts at 0 in every batch."""

    def __init__(self, vocab_size: int, n_hidden: int = 64):
        super().__init__()
        self.i_h = nn.Embedding(vocab_size, n_hidden)
        self.h_h = nn.Linear(n_hidden, n_hidden)
        self.h_o = nn.Linear(n_hidden, vocab_size)
        self.bn = nn.BatchNorm1d(n_hidden)

    def forward(self, x: Tensor) -> Tensor:  # x: (B, T)
        h = x.new_zeros(x.shape[0], self.h_h.in_features, dtype=self.h_h.weight.dtype)  # (B, H)
        outs = []
        for i in range(x.shape[1]):
            h = F.relu(self.h_h(h + self.i_h(x[:, i])))
            outs.append(self.h_o(self.bn(h)))  # (B, V)
        return torch.stack(outs, dim=1)  # (B, T, V)


class StatefulRNN(nn.Module):
    """Base of models that carry their hidden state from one batch to the next (truncated BPTT).

    The loader's batch k of each row continues batch k-1, so the state stays meaningful. After
    each batch the state is detached: gradients stop at the batch boundary and the autograd
    graph does not grow across batches. Subclasses define ``zero_state(like)``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.state: State | None = None  # a plain attribute: not a parameter, not in state_dict

    def reset(self) -> None:
        """Forget the state; the next batch starts from zeros."""
        self.state = None

    def zero_state(self, like: Tensor) -> State:
        """Zeros for the batch ``like`` (B, ...): its batch size, device and dtype."""
        raise NotImplementedError

    def carried_state(self, like: Tensor) -> State:
        """The last batch's state; zeros after ``reset()`` or if batch size or device changed."""
        fresh = self.zero_state(like)
        if self.state is None or not _same_layout(_first(self.state), _first(fresh)):
            self.state = fresh
        return self.state

    def keep(self, state: State) -> None:
        """Store ``state`` for the next batch, cut from this batch's graph."""
        if isinstance(state, tuple):
            self.state = tuple(s.detach() for s in state)
        else:
            self.state = state.detach()


class Model3(StatefulRNN):
    """Model2 whose hidden state ``(B, H)`` is kept across batches ("maintain state")."""

    def __init__(self, vocab_size: int, n_hidden: int = 64):
        super().__init__()
        self.i_h = nn.Embedding(vocab_size, n_hidden)
        self.h_h = nn.Linear(n_hidden, n_hidden)
        self.h_o = nn.Linear(n_hidden, vocab_size)
        self.bn = nn.BatchNorm1d(n_hidden)

    def zero_state(self, like: Tensor) -> Tensor:
        return like.new_zeros(like.shape[0], self.h_h.in_features)  # (B, H)

    def forward(self, x: Tensor) -> Tensor:  # x: (B, T)
        emb = self.i_h(x)               # (B, T, H)
        h = self.carried_state(emb)     # (B, H)
        outs = []
        for i in range(x.shape[1]):
            h = F.relu(self.h_h(h + emb[:, i]))
            outs.append(self.bn(h))  # (B, H)
        self.keep(h)
        return self.h_o(torch.stack(outs, dim=1))  # (B, T, V)


class Model4(StatefulRNN):
    """``nn.RNN`` (tanh) with a carried state, BatchNorm over all time steps, then ``h_o``."""

    def __init__(self, vocab_size: int, n_hidden: int = 64):
        super().__init__()
        self.i_h = nn.Embedding(vocab_size, n_hidden)
        self.rnn = nn.RNN(n_hidden, n_hidden, batch_first=True)
        self.h_o = nn.Linear(n_hidden, vocab_size)
        self.bn = BatchNorm1dFlat(n_hidden)

    def zero_state(self, like: Tensor) -> Tensor:
        return like.new_zeros(1, like.shape[0], self.rnn.hidden_size)  # (L=1, B, H)

    def forward(self, x: Tensor) -> Tensor:  # x: (B, T)
        emb = self.i_h(x)                                          # (B, T, H)
        out, h = self.rnn(emb, self.carried_state(emb))      # out: (B, T, H); h: (1, B, H)
        self.keep(h)
        return self.h_o(self.bn(out))                              # (B, T, V)


class Model5(StatefulRNN):
    """2-layer ``nn.GRU`` with a carried state, BatchNorm over all time steps, then ``h_o``."""

    def __init__(self, vocab_size: int, n_hidden: int = 64, n_layers: int = 2):
        super().__init__()
        self.i_h = nn.Embedding(vocab_size, n_hidden)
        self.rnn = nn.GRU(n_hidden, n_hidden, n_layers, batch_first=True)
        self.h_o = nn.Linear(n_hidden, vocab_size)
        self.bn = BatchNorm1dFlat(n_hidden)

    def zero_state(self, like: Tensor) -> Tensor:
        return like.new_zeros(self.rnn.num_layers, like.shape[0], self.rnn.hidden_size)  # (L, B, H)

    def forward(self, x: Tensor) -> Tensor:  # x: (B, T)
        emb = self.i_h(x)                                          # (B, T, H)
        out, h = self.rnn(emb, self.carried_state(emb))      # out: (B, T, H); h: (L, B, H)
        self.keep(h)
        return self.h_o(self.bn(out))                              # (B, T, V)


class LSTMModel(StatefulRNN):
    """fastbook's ``LMModel7``: 2-layer LSTM, dropout on its output, ``h_o`` tied to ``i_h``.

    ``forward`` also keeps this batch's LSTM output before (``raw_out``) and after dropout
    (``dropped_out``) for activation / temporal-activation regularisation (AR/TAR, the
    ``RNNRegularizer`` callback); fastbook returns them as a tuple, our contract returns logits.
    """

    def __init__(self, vocab_size: int, n_hidden: int = 64, n_layers: int = 2, p: float = 0.4):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout p must be in [0, 1), got {p}")
        self.i_h = nn.Embedding(vocab_size, n_hidden)
        self.rnn = nn.LSTM(n_hidden, n_hidden, n_layers, batch_first=True)
        self.drop = nn.Dropout(p)
        self.h_o = nn.Linear(n_hidden, vocab_size)
        self.h_o.weight = self.i_h.weight  # weight tying: one (V, H) matrix reads and writes tokens
        self.raw_out: Tensor | None = None
        self.dropped_out: Tensor | None = None

    def zero_state(self, like: Tensor) -> tuple[Tensor, Tensor]:
        shape = (self.rnn.num_layers, like.shape[0], self.rnn.hidden_size)  # (L, B, H)
        return like.new_zeros(shape), like.new_zeros(shape)  # (h, c)

    def forward(self, x: Tensor) -> Tensor:  # x: (B, T)
        emb = self.i_h(x)                                          # (B, T, H)
        raw, (h, c) = self.rnn(emb, self.carried_state(emb))       # raw: (B, T, H); h, c: (L, B, H)
        out = self.drop(raw)                                       # (B, T, H)
        self.keep((h, c))
        self.raw_out, self.dropped_out = raw, out
        return self.h_o(out)                                       # (B, T, V)


HUMAN_NUMBERS_MODELS: dict[str, Callable[..., nn.Module]] = {
    "0": Model0,
    "1": Model1,
    "2": Model2,
    "3": Model3,
    "4": Model4,
    "5": Model5,
    "lstm": LSTMModel,
}


def human_numbers_model(name: str, vocab_size: int, n_hidden: int = 64) -> nn.Module:
    """Build a model by its CLI name (``"0"`` .. ``"5"``, ``"lstm"``)."""
    if name not in HUMAN_NUMBERS_MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {list(HUMAN_NUMBERS_MODELS)}")
    return HUMAN_NUMBERS_MODELS[name](vocab_size, n_hidden)
