# %% [markdown]
# # Lesson 7: MNIST with a CNN, then a ResNet, from scratch
#
# The first notebook of fastai course-v3 Lesson 7, on the `lesson7` package. We build three
# models of growing sophistication and train each with the one-cycle policy:
#
# 1. a **basic CNN**: five stride-2 convolutions, 28 → 14 → 7 → 4 → 2 → 1 pixels;
# 2. the same network **refactored** with `conv_layer`;
# 3. a **ResNet-ish** network: a residual block after every stride-2 convolution.
#
# The last cell checks that the lesson's point still holds: the ResNet beats the plain CNN on the
# same data.

# %% [markdown]
# ## Parameters
#
# By default the notebook trains on the 1,000 + 500 digits that ship inside the package, so it
# runs anywhere, offline, in well under a minute on a laptop CPU (the lesson's 99.5 % needs the
# full data). For the lesson's scale set `SMALL = False` and point `DATA` at an `mnist_png`
# folder or archive (or leave the registry name `"mnist_png"`, which downloads it once); a GPU
# makes the 12 epochs take about a minute.

# %% tags=["parameters"]
SMALL = True          # True: packaged 1,500-digit sample; False: the lesson's full MNIST
DATA = "mnist_png"    # used when SMALL is False: a folder, an archive, or a registry name
DEVICE = "auto"       # "auto" picks a GPU when there is one
SEED = 0

# %%
import matplotlib.pyplot as plt
import torch
from IPython.display import display
from torch import nn

from lesson7.data import ImageList, rand_pad, resolve_dataset
from lesson7.demo import mnist_sample_path
from lesson7.mnist.train import find_mnist_root
from lesson7.models.layers import Flatten, conv_layer, res_block
from lesson7.train import Learner, accuracy
from lesson7.train.seed import seed_everything

if SMALL:
    torch.set_num_threads(min(2, torch.get_num_threads()))  # tiny models: more threads only contend
root = find_mnist_root(resolve_dataset(mnist_sample_path() if SMALL else DATA))
BS = 64 if SMALL else 128  # the lesson's bs=128; 64 gives the small sample 16 batches an epoch


def show(fig):
    """Display a matplotlib figure in the notebook and free it."""
    display(fig)
    plt.close(fig)


def plot_lr_find(learn):
    fig, ax = plt.subplots(figsize=(5, 3))
    finder = learn.lr_finder
    ax.plot(finder.lrs[: len(finder.losses)], finder.losses)
    ax.axvline(finder.suggestion(), color="r", ls="--", label=f"suggestion {finder.suggestion():.1e}")
    ax.set(xscale="log", xlabel="learning rate", ylabel="smoothed loss", title="lr_find")
    ax.legend()
    show(fig)


def plot_losses(learn, title=""):
    rec = learn.recorder
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(rec.batch_losses, label="train (per batch)", alpha=0.7)
    per_epoch = len(rec.batch_losses) / len(rec.history)
    ax.plot([per_epoch * (i + 1) for i in range(len(rec.history))],
            [h["valid_loss"] for h in rec.history], "o-", label="valid")
    ax.set(xlabel="batch", ylabel="loss", yscale="log", title=title)
    ax.legend()
    show(fig)


print(root)

# %% [markdown]
# ## Data: the data block API
#
# Each step of the chain answers one question: *where are the items* (`from_folder`, greyscale
# with `convert_mode="L"`), *how to split them* (the `training`/`testing` folders), *how to label
# them* (the parent folder is the digit), *which augmentation* (`rand_pad`: pad by 3 pixels and
# take a random 28×28 crop, so the digit moves a little; nothing for validation), then batch
# them and normalise with statistics taken from one batch.

# %%
il = ImageList.from_folder(root, convert_mode="L")
print(il)
sd = il.split_by_folder(train="training", valid="testing")
ll = sd.label_from_folder()
data = ll.transform(rand_pad(3, size=28), []).databunch(bs=BS, seed=SEED).normalize()
print(f"{len(data.train_dl.dataset)} training and {len(data.valid_dl.dataset)} validation digits; "
      f"classes {data.classes}")
xb, yb = data.one_batch()
print("a batch:", tuple(xb.shape), tuple(yb.shape))

# %%
show(data.show_batch(rows=3))

# %% [markdown]
# ## A basic CNN
#
# Every layer is a 3×3 convolution with stride 2, so each one halves the grid; the channel count
# goes up, then down to 10 (one per digit). The last layer leaves a 1×1 grid of 10 numbers,
# which `Flatten` turns into the 10 class scores. BatchNorm follows each convolution.

# %%
def conv(ni, nf):
    return nn.Conv2d(ni, nf, kernel_size=3, stride=2, padding=1)


def basic_cnn():
    return nn.Sequential(
        conv(1, 8), nn.BatchNorm2d(8), nn.ReLU(),     # 14
        conv(8, 16), nn.BatchNorm2d(16), nn.ReLU(),   # 7
        conv(16, 32), nn.BatchNorm2d(32), nn.ReLU(),  # 4
        conv(32, 16), nn.BatchNorm2d(16), nn.ReLU(),  # 2
        conv(16, 10), nn.BatchNorm2d(10),             # 1
        Flatten(),                                    # (B, 10)
    )


def n_params(model):
    return sum(p.numel() for p in model.parameters())


seed_everything(SEED)
learn = Learner(basic_cnn(), data, nn.CrossEntropyLoss(), metrics=[accuracy], device=DEVICE,
                path="runs/notebooks/mnist", progress=False)
print(f"basic CNN: {n_params(learn.model):,} parameters")
print(learn.model(xb.to(learn.device)).shape)

# %% [markdown]
# `lr_find` trains for a few batches while the learning rate grows exponentially, and records
# the loss. We pick a rate where the loss is still falling steeply, before it blows up; the
# lesson used 0.1. (The weights are restored afterwards.)

# %%
suggested = learn.lr_find(end_lr=100, num_it=40 if SMALL else 100, plot=None)
plot_lr_find(learn)

# %%
learn.fit_one_cycle(3, 0.1)
results = {"basic, 3 epochs": learn.recorder.history[-1]["accuracy"]}

# %% [markdown]
# ## Refactor: `conv_layer`
#
# The lesson's `conv_layer` packs conv → ReLU → BatchNorm into one call (the conv drops its
# bias, since BatchNorm adds one). The same network becomes five lines.

# %%
def conv2(ni, nf):
    return conv_layer(ni, nf, stride=2)


def refactored_cnn():
    return nn.Sequential(conv2(1, 8), conv2(8, 16), conv2(16, 32), conv2(32, 16), conv2(16, 10),
                         Flatten())


seed_everything(SEED)
learn = Learner(refactored_cnn(), data, nn.CrossEntropyLoss(), metrics=[accuracy], device=DEVICE,
                path="runs/notebooks/mnist", progress=False)
print(f"refactored CNN: {n_params(learn.model):,} parameters")
learn.fit_one_cycle(10, 0.1)
results["refactor, 10 epochs"] = learn.recorder.history[-1]["accuracy"]

# %% [markdown]
# ## Residual blocks
#
# He et al. (2015) noticed that a deeper plain network trained *worse* than a shallower one,
# even on the training set. Their fix: make each block compute `x + conv(conv(x))`, so a block
# only has to learn a correction to its input, and stacking more of them can never make things
# worse than the identity. `res_block(nf)` is exactly that (two `conv_layer`s and a
# `MergeLayer` that adds the input back).

# %%
print(res_block(8))


def conv_and_res(ni, nf):
    return nn.Sequential(conv2(ni, nf), res_block(nf))


def resnet_ish():
    return nn.Sequential(
        conv_and_res(1, 8),    # (B, 8, 14, 14)
        conv_and_res(8, 16),   # (B, 16, 7, 7)
        conv_and_res(16, 32),  # (B, 32, 4, 4)
        conv_and_res(32, 16),  # (B, 16, 2, 2)
        conv2(16, 10),         # (B, 10, 1, 1)
        Flatten(),             # (B, 10)
    )


seed_everything(SEED)
learn = Learner(resnet_ish(), data, nn.CrossEntropyLoss(), metrics=[accuracy], device=DEVICE,
                path="runs/notebooks/mnist", progress=False)
print(f"ResNet-ish: {n_params(learn.model):,} parameters")
learn.fit_one_cycle(12, 0.05)
results["resnet, 12 epochs"] = learn.recorder.history[-1]["accuracy"]
resnet_learn = learn
plot_losses(learn, "ResNet-ish")

# %% [markdown]
# ## Is it the residual blocks, or just the longer training?
#
# The lesson trains the ResNet for 12 epochs and the basic CNN for 3. To compare like with like
# (this is not in the lesson), we also train the basic CNN with the ResNet's 12-epoch schedule.
# On the 1,000-digit sample the two then land within noise of each other (seeds 1–5 gave the
# basic CNN 0.922–0.956 and the ResNet 0.940–0.952): residual blocks pay off with depth and with
# data, and this tiny network on tiny data has little of either. On full MNIST the lesson's
# ResNet reaches 99.5 %.

# %%
seed_everything(SEED)
learn = Learner(basic_cnn(), data, nn.CrossEntropyLoss(), metrics=[accuracy], device=DEVICE,
                path="runs/notebooks/mnist", progress=False)
learn.recorder.printer = None  # quiet: only the final number matters here
learn.fit_one_cycle(12, 0.05)
results["basic, 12 epochs"] = learn.recorder.history[-1]["accuracy"]
for name, acc in results.items():
    print(f"{name:<20} accuracy {acc:.4f}")

# %% [markdown]
# ## What the ResNet gets wrong
#
# The validation digits it misclassifies, with its guess and the true label.

# %%
preds, targs = resnet_learn.get_preds()
wrong = (preds.argmax(1) != targs).nonzero().flatten()[:8]
fig, axes = plt.subplots(1, max(len(wrong), 1), figsize=(1.6 * max(len(wrong), 1), 2), squeeze=False)
for ax, i in zip(axes[0], wrong.tolist(), strict=False):
    img = data.valid_dl.dataset[i][0]
    ax.imshow(img[0], cmap="gray")
    ax.set_title(f"{preds[i].argmax().item()} / {targs[i].item()}", fontsize=9)
for ax in axes[0]:
    ax.set_axis_off()
fig.suptitle("prediction / truth")
show(fig)
print(f"{len((preds.argmax(1) != targs).nonzero())} of {len(targs)} wrong")

# %% [markdown]
# ## Checks
#
# These fail loudly if the lesson's behaviour breaks: the models have the lesson's parameter
# counts, the ResNet trained the lesson's way clearly beats the basic CNN trained the lesson's
# way on the same data, and it learns the digits (the lesson reaches 99.5 % on full MNIST; the
# 1,000-digit sample reaches about 95 %). The equal-epoch comparison above is shown, not
# asserted: on the sample it is within noise.

# %%
assert n_params(basic_cnn()) == 12_126, n_params(basic_cnn())
assert n_params(refactored_cnn()) == 12_044, n_params(refactored_cnn())
assert n_params(resnet_ish()) == 41_132, n_params(resnet_ish())
assert results["resnet, 12 epochs"] > results["basic, 3 epochs"] + (0.05 if SMALL else 0.003), results
assert results["resnet, 12 epochs"] >= (0.90 if SMALL else 0.99), results
assert results["basic, 12 epochs"] >= (0.85 if SMALL else 0.98), results  # 12 epochs help it too
print("all checks passed")
