# %% [markdown]
# # Lesson 7: RNNs from scratch on "human numbers"
#
# The lesson's last notebook builds a recurrent neural network one small step at a time, on a
# toy language: the numbers 1 to 9,999 written out in English ("one, two, three, ..."). Each
# model predicts the next word:
#
# - **Model0**: three words in, the fourth out, written out by hand (three layers that share
#   their weights);
# - **Model1**: the same model as a loop, which is what an RNN is;
# - **Model2**: a prediction after every word, not only the last;
# - **Model3**: keep the hidden state from one batch to the next;
# - **Model4**: the same with PyTorch's `nn.RNN`;
# - **Model5**: a 2-layer GRU, whose gates let it remember for longer;
# - **LSTM**: fastbook's `LMModel7` (a 2-layer LSTM with dropout, weight tying and AR/TAR).
#
# The checks at the end include the lesson's claim that Model0 and Model1 are *the same model*.

# %% [markdown]
# ## Parameters
#
# The corpus is generated on the spot (about 100,000 tokens), so the lesson's full scale runs
# in well under a minute on a CPU; there is no separate small mode. `DATA_DIR=None` writes it
# into the package's data folder (`$LESSON7_DATA`, else `~/.cache/lesson7`).

# %% tags=["parameters"]
DATA_DIR = None   # where train.txt / valid.txt are written (None: the package's data folder)
DEVICE = "cpu"    # these 64-unit models are faster on a CPU than the cost of a GPU launch
SEED = 0

# %%
import inspect

import matplotlib.pyplot as plt
import torch
from IPython.display import display

from lesson7.models.rnn import LSTMModel, Model0, Model1, Model2, Model3, Model4, Model5
from lesson7.text import human_numbers_databunch, make_human_numbers, read_split
from lesson7.text.callbacks import ResetState, RNNRegularizer
from lesson7.text.train import RECIPES, acc4, cross_entropy_flat, loss4
from lesson7.train import Learner, accuracy
from lesson7.train.seed import seed_everything

torch.set_num_threads(1)  # a 64-unit RNN gains nothing from more threads


def show(fig):
    display(fig)
    plt.close(fig)


def source(cls):
    """Print a model's `forward`: the code is the diagram."""
    print(inspect.getsource(cls.forward))

# %% [markdown]
# ## The data
#
# `train.txt` holds the numbers 1–8,000 and `valid.txt` 8,001–9,999, one per line; each split is
# read as one long text, the lines joined with ", ".

# %%
folder = make_human_numbers(DATA_DIR)
train_text, valid_text = read_split(folder, "train"), read_split(folder, "valid")
print(train_text[:110], "...")
print("...", valid_text[-110:])

# %% [markdown]
# A language-model batch cuts the token stream into `bs` rows, each a contiguous stretch of
# text, and walks along them `bptt` tokens at a time. The target `y` is the input `x` shifted by
# one token: at every position the model must predict the next word. With `bptt=3`, three words
# in and the fourth out is exactly the last column of `y`.

# %%
def databunch(bptt):
    return human_numbers_databunch(DATA_DIR, bs=64, bptt=bptt, seed=SEED)


data = databunch(bptt=3)
vocab = data.vocab
print(f"vocabulary of {len(vocab)} tokens:", vocab.itos)
x, y = data.one_batch(valid=True)
print("x shape", tuple(x.shape))
for row in range(2):
    print("x:", vocab.textify(x[row]), "  ->  y:", vocab.textify(y[row]))
print("the next batch continues each row:", vocab.textify(list(data.valid_dl)[1][0][0]))

# %% [markdown]
# ## Model0: three words in, the fourth out
#
# `i_h` embeds a word (input → hidden), `h_h` maps hidden → hidden, `h_o` hidden → output. The
# same three layers are used at every step: the second word is added to what the network made of
# the first, and so on. The loss and the accuracy only look at the last position
# (`loss4`/`acc4`).
#
# (The lesson's Model0 skipped `h_h` on its first step, so it was not quite the same function as
# Model1, despite the lesson's point. Ours applies it at every step.)

# %%
source(Model0)

# %%
results = {}


def train(name, model, data, **overrides):
    """Train with the lesson's recipe for `name` (epochs, LR, one-cycle settings)."""
    recipe = RECIPES[name]
    loss_fn, metric = (loss4, acc4) if recipe.last_token else (cross_entropy_flat, accuracy)
    cbs = [ResetState()] + ([RNNRegularizer(alpha=2.0, beta=1.0)] if name == "lstm" else [])
    learn = Learner(model, data, loss_fn, metrics=[metric], cbs=cbs, device=DEVICE,
                    path="runs/notebooks/human_numbers", progress=False)
    print(f"Model{name}: fit_one_cycle({recipe.epochs}, {recipe.lr}), bptt {data.train_dl.bptt}")
    learn.fit_one_cycle(recipe.epochs, recipe.lr, pct_start=recipe.pct_start, wd=recipe.wd,
                        moms=recipe.moms)
    results[name] = learn.recorder.history[-1][metric.__name__]
    return learn


seed_everything(SEED)
learn0 = train("0", Model0(len(vocab)), data)

# %% [markdown]
# ## Model1: the same, as a loop
#
# Written as a loop from `h = 0`, the three steps become one: this *is* a recurrent neural
# network. Nothing else changes. (The checks below copy Model0's weights into Model1 and get the
# same outputs.)

# %%
source(Model1)
seed_everything(SEED)
learn1 = train("1", Model1(len(vocab)), data)

# %% [markdown]
# ## Model2: predict after every word
#
# Scoring only the fourth word wastes the three predictions before it. Model2 outputs after
# every token and is scored on all of them, with 20 tokens per batch. Its hidden state still
# restarts from zero at every batch, so each prediction only sees the last few words of its
# batch, which limits it.

# %%
data20 = databunch(bptt=20)
source(Model2)
seed_everything(SEED)
learn2 = train("2", Model2(len(vocab)), data20)

# %% [markdown]
# ## Model3: keep the state
#
# Row *r* of batch *k+1* continues row *r* of batch *k*, so the hidden state at the end of one
# batch is the right starting point for the next. Model3 keeps it, but *detaches* it: gradients
# stop at the batch boundary (truncated back-propagation through time), otherwise each batch
# would back-propagate through the whole text so far. The `ResetState` callback zeroes it when
# the text changes (training ↔ validation).

# %%
source(Model3)
seed_everything(SEED)
learn3 = train("3", Model3(len(vocab)), data20)

# %% [markdown]
# ## Model4: `nn.RNN`
#
# PyTorch's `nn.RNN` runs the same loop (with a tanh) in one call.

# %%
source(Model4)
seed_everything(SEED)
learn4 = train("4", Model4(len(vocab)), data20)

# %% [markdown]
# ## Model5: a 2-layer GRU
#
# Stacking RNNs makes gradients vanish and explode over long sequences. A GRU's gates decide, per
# unit, how much of the old state to keep and how much to overwrite, which lets it carry
# information across many steps. Two layers and a higher learning rate make the big jump of the
# lesson.

# %%
source(Model5)
seed_everything(SEED)
learn5 = train("5", Model5(len(vocab)), data20)

# %% [markdown]
# ## An LSTM (fastbook's `LMModel7`)
#
# The lesson stops at the GRU; its sequel (fastbook chapter 12) ends with a 2-layer LSTM with
# dropout, the output layer tied to the embedding (one matrix reads and writes words), and
# activation regularisation (AR/TAR, `RNNRegularizer`) on 16-token batches.

# %%
source(LSTMModel)
seed_everything(SEED)
learn_lstm = train("lstm", LSTMModel(len(vocab)), databunch(bptt=RECIPES["lstm"].bptt))
fig, ax = plt.subplots(figsize=(5, 3))
for name, learn in (("Model2", learn2), ("GRU", learn5), ("LSTM", learn_lstm)):
    ax.plot([h["valid_loss"] for h in learn.recorder.history], "o-", label=name)
ax.set(xlabel="epoch", ylabel="validation loss", yscale="log", title="validation loss per epoch")
ax.legend()
show(fig)

# %% [markdown]
# ## From Model0 to the LSTM
#
# Final validation accuracy of each model next to the one recorded in the lesson (fastbook for
# the LSTM). Model0/1 are scored on one word per sequence, the others on every word. The run to
# run spread is large for the plain RNNs (Model2 recorded 0.24–0.41 in three runs of the lesson).

# %%
names = list(results)
fig, ax = plt.subplots(figsize=(6, 3))
ax.bar([f"Model{n}" if n != "lstm" else "LSTM" for n in names], [results[n] for n in names],
       label="this run")
ax.plot(range(len(names)), [RECIPES[n].reference_acc for n in names], "rx", label="recorded")
ax.set(ylabel="validation accuracy", ylim=(0, 1))
ax.legend()
show(fig)
for n in names:
    print(f"{'LSTM' if n == 'lstm' else 'Model' + n:<7} {results[n]:.3f}   "
          f"(recorded {RECIPES[n].reference_acc:.3f})")

# %% [markdown]
# What does the GRU predict? We run it through the validation text (its state carried from batch
# to batch, as in training) and print, for the fifth batch, the most likely word after each word.

# %%
learn5.model.eval()
learn5.model.reset()
with torch.no_grad():
    for i, batch in enumerate(learn5.data.valid_dl):
        guess = learn5.model(batch[0]).argmax(-1).cpu()
        if i == 4:
            break
x, y = batch[0].cpu(), batch[1].cpu()
row = 7
print("text:     ", vocab.textify(x[row, :15]))
print("predicted:", vocab.textify(guess[row, :15]))
print("truth:    ", vocab.textify(y[row, :15]))

# %% [markdown]
# ## Checks
#
# - The targets are the inputs shifted by one token.
# - Model0 and Model1 are the same model: with the same weights, the same outputs.
# - Keeping the state and gating pay off: the GRU and the LSTM beat the stateless Model2 by a
#   wide margin, and the LSTM predicts most words right.

# %%
x, y = data20.one_batch()
assert torch.equal(x[:, 1:], y[:, :-1])

m0, m1 = Model0(len(vocab)).eval(), Model1(len(vocab)).eval()
m1.load_state_dict(m0.state_dict())
x3, _ = data.one_batch()
torch.testing.assert_close(m0(x3), m1(x3))
trained1 = Model1(len(vocab)).to(learn0.device).eval()
trained1.load_state_dict(learn0.model.state_dict())  # the trained Model0, run as Model1
x3 = x3.to(learn0.device)
torch.testing.assert_close(learn0.model.eval()(x3), trained1(x3))

assert results["5"] > results["2"] + 0.2, results
assert results["lstm"] > results["2"] + 0.2, results
assert results["lstm"] > 0.7, results
assert results["1"] > 0.3, results  # far above chance (1/40) on the fourth word
print("all checks passed")
