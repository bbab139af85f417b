# %% [markdown]
# # Lesson 7: super-resolution with a U-Net and a feature loss
#
# Take good images, make bad copies of them ("crappify"), and train a network to turn the bad
# copies back into the good ones. The network is a **U-Net** whose encoder is a pretrained
# ImageNet classifier, and its loss is a **feature (perceptual) loss**: instead of comparing
# pixels only, it compares what a pretrained VGG16 "sees" in the prediction and in the target.
# Then the lesson's trick: a fully convolutional model trained on small crops can **predict at a
# larger size** than it was trained on.
#
# The lesson uses a resnet34 encoder; here the encoder is EfficientNet-Lite0, whose ImageNet
# weights install with the package, so the notebook needs no download.

# %% [markdown]
# ## Parameters
#
# By default the "photos" are 32 toy scenes the package draws on the spot (colour gradients and
# shapes, 80×80, crappified to 20×20), trained one epoch per step at 48 then 80 pixels: it
# runs offline on a CPU in a minute or two (the VGG16 of the feature loss is most of the cost),
# and shows every step, not what the lesson's model can do. For the lesson's
# scale set `SMALL = False` and `HR_DIR` to a folder of photos (the lesson used the 7,390 Oxford
# pets, `images/`), on a GPU.
#
# The feature loss needs ImageNet VGG16 weights (torchvision downloads them; offline, the file
# `vgg16_features.safetensors` in `$LESSON7_WEIGHTS`). Without them the notebook says so and
# falls back to a plain L1 pixel loss, and its final check uses PSNR instead of LPIPS.

# %% tags=["parameters"]
SMALL = True     # True: generated toy scenes, short training; False: the lesson's scale
HR_DIR = None    # SMALL = False: a folder of good images (e.g. oxford-iiit-pet/images)
DEVICE = "auto"
SEED = 0

# %%
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from IPython.display import display
from PIL import Image

from lesson7.data.crappify import SuperresCrappifier, crappify_folder
from lesson7.data.images import open_image
from lesson7.data.pairs import find_pairs
from lesson7.data.show import image_to_numpy
from lesson7.data.synthetic import make_toy_scenes
from lesson7.losses import FeatureLoss, L1LossFlat, component_metrics
from lesson7.models.encoders import PretrainedWeightsUnavailable
from lesson7.quality import LPIPS, psnr
from lesson7.quality.lpips_metric import lpips_unavailable
from lesson7.restore import Restorer, UnetConfig
from lesson7.restore.train import build_data, unet_learner
from lesson7.train.seed import seed_everything

OUT = Path("runs/notebooks/superres")
if SMALL:
    torch.set_num_threads(min(2, torch.get_num_threads()))
    HR = make_toy_scenes(OUT / "hr", n=32, size=80, seed=SEED)
    LR_SIZE, SIZES, BS, EPOCHS, GRAM_WEIGHT = 20, (48, 80), 8, 1, 0.0
else:
    HR = Path(HR_DIR)
    LR_SIZE, SIZES, BS, EPOCHS, GRAM_WEIGHT = 96, (128, 256), 32, 10, 5e3  # the lesson's


def show(fig):
    display(fig)
    plt.close(fig)


def show_images(images, titles, size=2.5):
    """One row of (C, H, W) tensors in [0, 1]."""
    fig, axes = plt.subplots(1, len(images), figsize=(size * len(images), size), squeeze=False)
    for ax, img, title in zip(axes[0], images, titles, strict=True):
        ax.imshow(image_to_numpy(img))
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
    show(fig)

# %% [markdown]
# ## Crappify
#
# The lesson's `resize_one` shrinks every image (short side 96 pixels for the pets) and saves it
# as a JPEG at quality 60. The model's input is that small image enlarged back to the target's
# size, so it has to restore both the lost detail and the JPEG artefacts. (The GAN notebook
# uses the full `crappify`, which also stamps a random JPEG quality as text on the image.)

# %%
report = crappify_folder(HR, OUT / "lowres", SuperresCrappifier(size=LR_SIZE), workers=1,
                         seed=SEED, progress=False)
print(report.summary())
pairs = find_pairs(OUT / "lowres", HR)
lr_img, hr_img = open_image(pairs[0][0]), open_image(pairs[0][1])
show_images([lr_img, hr_img],
            [f"crappified {tuple(lr_img.shape[1:])}", f"original {tuple(hr_img.shape[1:])}"])

# %% [markdown]
# ## Data
#
# Pairs of (crappified, original), split 90/10 at random with seed 42, with the same random
# crop, flip, zoom, rotation and lighting applied to both images of a pair (`tfm_y`), both
# normalised with ImageNet's statistics (the encoder was trained that way).

# %%
data = build_data(pairs, size=SIZES[0], bs=BS, bicubic=False)
print(f"{len(data.train_ds)} training and {len(data.valid_ds)} validation pairs at {SIZES[0]} px")
show(data.show_batch(rows=3))

# %% [markdown]
# ## The feature loss
#
# A pixel loss (MSE, L1) is minimised by a blurry average of every plausible answer. Johnson et
# al. (2016) compare images in the feature space of a pretrained VGG16 instead: the loss is the
# pixel L1, plus the L1 distance between VGG activations at three depths (`relu3_3`, `relu4_3`,
# `relu5_3`, weights 5, 15, 2), plus the distance between their **Gram matrices**, the
# channel-by-channel correlations that describe texture and style (Gatys et al. 2015). Each term
# is reported as a metric.
#
# In small mode the Gram terms are switched off (`gram_weight=0`, as DeOldify does): at the
# lesson's weights (5e3·wᵢ², so up to 10⁶) they dwarf every other term, and a handful of CPU
# batches spent on them leaves the model worse than its input. Ten epochs on thousands of
# photos, as in the lesson, can afford them.

# %%
try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        feat_loss = FeatureLoss.from_pretrained("vgg16_bn", gram_weight=GRAM_WEIGHT)
    loss_fn, metrics = feat_loss, component_metrics(feat_loss)
    print(f"feature loss on VGG layers {feat_loss.layers}, weights {feat_loss.layer_weights}, "
          f"Gram weight {GRAM_WEIGHT}, terms {feat_loss.metric_names}")
except PretrainedWeightsUnavailable as e:
    feat_loss = None
    loss_fn, metrics = L1LossFlat(), []
    print("*** NO ImageNet VGG16 WEIGHTS HERE: the feature loss cannot be built. ***\n"
          f"({str(e).splitlines()[0][:200]})\n"
          "Falling back to a plain L1 pixel loss: the rest of the notebook runs, but it shows a "
          "pixel-loss model, not the lesson's feature-loss model.")

# %% [markdown]
# ## A U-Net on a pretrained encoder
#
# `unet_learner` cuts the classifier's head off, keeps its body as the encoder, and builds a
# decoder that upsamples step by step back to the input size, concatenating the encoder's
# activation of the same resolution at each step (the U-Net's skip connections, Ronneberger et
# al. 2015). The lesson's options: blur after each pixel-shuffle upsampling and weight
# normalisation. The encoder starts frozen: first the new decoder learns to use it.
#
# Not in the lesson: in small mode we start the U-Net as the *identity* (`init_identity_`: it
# first outputs its input unchanged), so a minute of CPU training starts from the crappy image
# rather than from noise.

# %%
seed_everything(SEED)
learn = unet_learner(data, arch="efficientnet_lite0", pretrained=True, blur=True,
                     norm_type="weight", loss_fn=loss_fn, metrics=metrics, wd=1e-3,
                     device=DEVICE, path=OUT, progress=False)
if SMALL:
    learn.model.init_identity_()
n_enc = sum(p.numel() for p in learn.model.encoder.parameters())
n_all = sum(p.numel() for p in learn.model.parameters())
print(f"U-Net: {n_all:,} parameters, {n_enc:,} of them in the pretrained encoder")

# %% [markdown]
# `lr_find` on the frozen model; the lesson read 1e-3 from its plot.

# %%
learn.lr_find(num_it=8 if SMALL else 100, plot=None)
finder = learn.lr_finder
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(finder.lrs[: len(finder.losses)], finder.losses)
ax.set(xscale="log", yscale="log", xlabel="learning rate", ylabel="smoothed loss", title="lr_find")
show(fig)
lr = 1e-3

# %% [markdown]
# ## Train: frozen, then unfrozen
#
# The lesson's `do_fit`: one-cycle with a long warm-up (`pct_start=0.9`). First the decoder
# alone at `slice(lr*10)`, then everything with discriminative learning rates,
# `slice(1e-5, lr)`: the pretrained early layers move a hundred times less than the decoder.

# %%
learn.fit_one_cycle(EPOCHS, slice(lr * 10), pct_start=0.9)  # 1a
learn.unfreeze()
learn.fit_one_cycle(EPOCHS, slice(1e-5, lr), pct_start=0.9)  # 1b

# %% [markdown]
# ## Progressive resizing
#
# Then the same model on bigger images (the lesson: 128 → 256 pixels, a smaller batch): it has
# already learnt the job at low resolution, so a few epochs at the larger size are enough.
# Freeze, train the decoder (2a), unfreeze with smaller rates (2b).

# %%
data = build_data(pairs, size=SIZES[1], bs=max(2, BS // 2), bicubic=False)
learn.data = data.to(learn.device)
learn.freeze()
learn.fit_one_cycle(EPOCHS, slice(lr), pct_start=0.9)         # 2a
learn.unfreeze()
learn.fit_one_cycle(EPOCHS, slice(1e-6, lr / 10), pct_start=0.3)  # 2b

rec = learn.recorder
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(rec.batch_losses, label="train (per batch)")
ax.set(xlabel="batch", ylabel="loss", yscale="log", title="all four fits")
ax.legend()
show(fig)

# %% [markdown]
# ## Results on the validation images
#
# Crappified input, prediction, original, and how far each is from the original: PSNR (higher
# is better) and, where its ImageNet AlexNet weights are available, LPIPS (a learned perceptual
# distance, lower is better; Zhang et al. 2018).

# %%
lpips_why = lpips_unavailable()
lpips = LPIPS() if lpips_why is None else None
if lpips is None:
    print("LPIPS unavailable here, PSNR only:", lpips_why.splitlines()[0][:200])
learn.model.eval()
inputs, preds, targets = [], [], []
with torch.no_grad():
    for xb, yb in data.valid_dl:
        preds.append(data.denorm(learn.model(xb)).clamp(0, 1).cpu())
        inputs.append(data.denorm(xb).clamp(0, 1).cpu())
        targets.append(data.denorm(yb).clamp(0, 1).cpu())
inputs, preds, targets = torch.cat(inputs), torch.cat(preds), torch.cat(targets)
scores = {"input": {"psnr": psnr(inputs, targets).mean().item()},
          "model": {"psnr": psnr(preds, targets).mean().item()}}
if lpips is not None:
    scores["input"]["lpips"] = lpips(inputs, targets).mean().item()
    scores["model"]["lpips"] = lpips(preds, targets).mean().item()
for name, s in scores.items():
    print(f"{name:<6}", "  ".join(f"{k} {v:.4f}" for k, v in s.items()))
for i in range(min(3, len(inputs))):
    show_images([inputs[i], preds[i], targets[i]], ["input", "prediction", "original"])

# %% [markdown]
# ## Predicting at a larger size
#
# The U-Net is fully convolutional, so it accepts any image size. The lesson fed it its
# 256-pixel crappified pets, enlarged to 820×1024, far larger than its 256-pixel training crops.
# Here we take a crappified image that is *larger* than any the model was trained on (the
# original, saved as a JPEG at quality 60), enlarge it 2× with bicubic interpolation, and let
# the model restore that: `Restorer.restore` does the enlarging, normalising and (for images too
# big for memory) tiling.

# %%
cfg = UnetConfig(arch="efficientnet_lite0", img_size=(SIZES[-1], SIZES[-1]), blur=True,
                 self_attention=False, y_range=None, norm_type="weight")
restorer = Restorer(learn.model, cfg, device=learn.device)
big_in = Image.open(pairs[-1][1]).convert("RGB")
OUT.joinpath("test").mkdir(exist_ok=True)
big_in.save(OUT / "test" / "q60.jpg", quality=60)
big_in = Image.open(OUT / "test" / "q60.jpg")
big_out = restorer.restore(big_in, scale=2.0)
bicubic = big_in.resize(big_out.size, Image.Resampling.BICUBIC)
print(f"input {big_in.size} -> output {big_out.size}")
fig, axes = plt.subplots(1, 2, figsize=(8, 4))
for ax, img, title in zip(axes, [bicubic, big_out], ["bicubic 2x", "U-Net 2x"], strict=True):
    ax.imshow(img)
    ax.set_title(title)
    ax.set_axis_off()
show(fig)

# %% [markdown]
# ## Checks
#
# The lesson's claim: the trained model's output is closer to the original than its input is.
# With the feature loss, "closer" is perceptual: LPIPS (or PSNR when the LPIPS weights are
# absent) of the model beats that of the crappified input on the held-out validation images.
# With the L1 fallback, the model must beat the input on PSNR. And the model restores an image
# larger than its training crops, at the requested size.

# %%
print(scores)
if feat_loss is not None and lpips is not None:
    assert scores["model"]["lpips"] < scores["input"]["lpips"], scores
else:
    assert scores["model"]["psnr"] > scores["input"]["psnr"], scores
assert big_out.size == (2 * big_in.width, 2 * big_in.height)
assert big_in.width * 2 > SIZES[-1]  # larger than anything it was trained on
if feat_loss is not None:
    assert set(rec.history[-1]) >= set(feat_loss.metric_names)  # each term was reported
print("all checks passed")
