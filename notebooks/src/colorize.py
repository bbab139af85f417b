# %% [markdown]
# # Colorizing grey photos: DeOldify's idea with the lesson's pieces
#
# DeOldify (Jason Antic, 2018–2019) grew out of this lesson: its colorizer *is* the lesson's
# restoration model, with "crappify" replaced by "remove the colour". The recipe:
#
# 1. **Degrade**: make colour photos grey (`convert('LA').convert('RGB')`); the grey image is
#    the input, the photo the target.
# 2. **Generator**: a U-Net with self-attention and spectral normalisation on a pretrained
#    encoder.
# 3. **Loss**: the lesson's feature loss with DeOldify's weights: pixel L1 plus VGG16 features
#    at relu3_3, relu4_3, relu5_3 weighted 20, 70, 10, and no Gram terms.
# 4. **Train** frozen, then unfrozen, at growing sizes; then (not done here) a short NoGAN stage
#    exactly like `lesson7-superres-gan`.
# 5. **Render** at a reduced size (DeOldify's `render_factor`): colour carries little detail,
#    so the model colours a small copy and the colour is laid over the full-size grey photo.
#
# Ours differs in one deliberate way: the model predicts only the two chroma channels
# (Cb, Cr) and keeps the input's luminance, so the output has exactly the photo's brightness and
# detail and the model cannot blur it.

# %% [markdown]
# ## Parameters
#
# By default the photos are small landscapes drawn on the spot (sky, sun, hills, grass, trees,
# red-roofed houses): colour there follows from position, shape and brightness, which a model can
# learn in a minute on a CPU. They show that the pipeline works, not how well it colours real
# photos. For real training set `SMALL = False` and `PHOTOS` to a folder of colour photos, on a
# GPU.
#
# The feature loss needs the ImageNet VGG16 trunk (`vgg16_features.safetensors` in
# `$LESSON7_WEIGHTS`). Without it the notebook says so and falls back to a plain L1 pixel loss.

# %% tags=["parameters"]
SMALL = True     # True: generated landscapes, a minute of CPU; False: your photos, a GPU
PHOTOS = None    # SMALL = False: a folder of colour photos
DEVICE = "auto"
SEED = 0

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display
from PIL import Image, ImageDraw, ImageFilter

from lesson7.colorize.colorizer import Colorizer, ColorizerConfig, build_colorizer
from lesson7.colorize.data import color_data, load_photos
from lesson7.colorize.train import DEOLDIFY_LAYERS, DEOLDIFY_WEIGHTS, deoldify_loss
from lesson7.data import get_image_files
from lesson7.data.crappify import GreyCrappifier
from lesson7.data.images import pil_to_tensor
from lesson7.losses import L1LossFlat, component_metrics
from lesson7.models.colorizer import chroma_unet_splitter
from lesson7.quality import psnr
from lesson7.train import Learner
from lesson7.train.seed import seed_everything


def landscape(size, rng):
    """A toy colour photo whose colours can be guessed from the grey version."""
    horizon = int(size * rng.uniform(0.35, 0.6))
    img = Image.new("RGB", (size, size))
    draw = ImageDraw.Draw(img)
    for y in range(horizon):  # sky: deep blue at the top, paler near the horizon
        t = y / horizon
        draw.line([(0, y), (size, y)], fill=(int(60 + 120 * t), int(110 + 100 * t), 235))
    r = int(size * rng.uniform(0.06, 0.12))
    cx, cy = int(rng.uniform(r, size - r)), int(rng.uniform(r, max(r + 1, horizon - r)))
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(255, 215, 60))  # the sun
    hill = [(0, horizon)] + [(x, horizon - int(size * 0.12 * abs(np.sin(x / size * 3 + rng.uniform(0, 3)))))
                             for x in range(0, size + 8, 8)] + [(size, size), (0, size)]
    draw.polygon(hill, fill=(40, int(rng.uniform(120, 170)), 50))  # green hills and grass
    for _ in range(rng.integers(1, 4)):  # trees: brown trunk, dark green crown
        x, w = int(rng.uniform(0, size)), max(2, size // 40)
        base = int(rng.uniform(horizon + 4, size))
        draw.rectangle([x - w, base - size // 8, x + w, base], fill=(110, 70, 30))
        draw.ellipse([x - 4 * w, base - size // 4, x + 4 * w, base - size // 9], fill=(20, 90, 30))
    for _ in range(rng.integers(0, 3)):  # houses: white walls, red roofs
        x, w = int(rng.uniform(0, size - size // 6)), size // 6
        base = int(rng.uniform(horizon + size // 8, size))
        draw.rectangle([x, base - w, x + w, base], fill=(235, 230, 220))
        draw.polygon([(x - 2, base - w), (x + w // 2, base - int(1.6 * w)), (x + w + 2, base - w)],
                     fill=(190, 40, 30))
    return img.filter(ImageFilter.SMOOTH)


def show(fig):
    display(fig)
    plt.close(fig)


def show_rows(rows, titles, size=2.2):
    fig, axes = plt.subplots(len(rows), len(titles), figsize=(size * len(titles), size * len(rows)),
                             squeeze=False)
    for r, row in enumerate(rows):
        for c, img in enumerate(row):
            axes[r][c].imshow(img)
            axes[r][c].set_axis_off()
            if r == 0:
                axes[r][c].set_title(titles[c], fontsize=9)
    show(fig)


def colorfulness(img):
    """Hasler & Süsstrunk (2003) on 0-255 RGB: 0 for grey, 30-60 for typical photos."""
    a = np.asarray(img, dtype=np.float64)
    rg, yb = a[..., 0] - a[..., 1], (a[..., 0] + a[..., 1]) / 2 - a[..., 2]
    return np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())


if SMALL:
    torch.set_num_threads(min(2, torch.get_num_threads()))
    rng = np.random.default_rng(SEED)
    photos = [landscape(96, rng) for _ in range(48)]
    SIZE, BS, EPOCHS = 64, 8, (2, 3)
else:
    photos = load_photos(get_image_files(PHOTOS), max_short=2 * 192)
    SIZE, BS, EPOCHS = 192, 8, (1, 4)
train_photos, valid_photos = photos[: int(0.85 * len(photos))], photos[int(0.85 * len(photos)):]
print(f"{len(train_photos)} training and {len(valid_photos)} held-out photos")

# %% [markdown]
# ## 1. The degradation: remove the colour
#
# `GreyCrappifier` is DeOldify's: PIL's luma (BT.601) copied into three channels, so the
# pretrained RGB encoder reads it unchanged.

# %%
grey = GreyCrappifier()
show_rows([[p, grey(p, None)] for p in train_photos[:3]], ["photo (target)", "grey (input)"])

# %% [markdown]
# ## 2. Data
#
# Each epoch takes a fresh random square crop of every photo (a random scale, position and
# flip), resized to `SIZE`, and its grey version; the held-out photos give fixed centre crops.
# Both sides are normalised with ImageNet's statistics, as the encoder and the loss network
# expect.

# %%
data = color_data(train_photos, valid_photos, size=SIZE, bs=BS, seed=SEED)
xb, yb = next(iter(data.train_dl))
print("batch", tuple(xb.shape), tuple(yb.shape))


def to_img(t):
    return data.denorm(t[None])[0].clamp(0, 1).permute(1, 2, 0).numpy()


show_rows([[to_img(xb[i]), to_img(yb[i])] for i in range(2)], ["input", "target"])

# %% [markdown]
# ## 3. The generator
#
# A Dynamic U-Net on EfficientNet-Lite0 (pretrained on ImageNet, installed with the package), cut
# at 1/16 of the input's resolution, with the lesson's blur and self-attention and DeOldify's
# spectral normalisation. Its head outputs two chroma channels; the luminance comes from the
# input.

# %%
cfg = ColorizerConfig(img_size=(SIZE, SIZE), render_size=SIZE)
seed_everything(SEED)
model = build_colorizer(cfg, pretrained=True)
print(Colorizer(model, cfg))

# %% [markdown]
# ## 4. The loss
#
# DeOldify's: the lesson's feature loss with weights 20, 70, 10 on the same three VGG16 layers,
# and no Gram (style) terms: colour is not texture.

# %%
try:
    loss_fn = deoldify_loss()
    metrics = component_metrics(loss_fn)[: 1 + len(DEOLDIFY_LAYERS)]  # pixel + the three features
    print(f"DeOldify's feature loss: layers {DEOLDIFY_LAYERS}, weights {DEOLDIFY_WEIGHTS}")
except FileNotFoundError as e:
    loss_fn, metrics = L1LossFlat(), []
    print("*** NO ImageNet VGG16 TRUNK HERE: the feature loss cannot be built. ***\n"
          f"({str(e)[:200]})\nFalling back to a plain L1 pixel loss: the model trains, but "
          "pixel losses favour dull, brownish averages: exactly what the feature loss is for.")

# %% [markdown]
# ## 5. Train: frozen, then unfrozen
#
# As in the lesson: first the decoder with the encoder frozen, then everything with
# discriminative learning rates.

# %%
learn = Learner(model, data, loss_fn, metrics=metrics, wd=1e-3, splitter=chroma_unet_splitter,
                device=DEVICE, path="runs/notebooks/colorize", progress=False)
learn.freeze()
learn.fit_one_cycle(EPOCHS[0], slice(3e-3), pct_start=0.8)
learn.unfreeze()
learn.fit_one_cycle(EPOCHS[1], slice(1e-6, 1e-3))
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(learn.recorder.batch_losses)
ax.set(xlabel="batch", ylabel="loss", yscale="log", title="training loss")
show(fig)

# %% [markdown]
# ## 6. Colour the held-out photos
#
# `Colorizer.colorize` takes a photo of any size in any mode, makes it grey, colours a copy at
# the render size, and lays the colour over the full-size luminance.

# %%
colorizer = Colorizer(learn.model, cfg, device=learn.device)
rows, scores = [], {"grey input": [], "colorized": []}
colourful = {"grey input": [], "colorized": [], "photo": []}
for photo in valid_photos:
    g = grey(photo, None)
    out = colorizer.colorize(g)
    rows.append([g, out, photo])
    truth = pil_to_tensor(photo)
    scores["grey input"].append(psnr(pil_to_tensor(g), truth).item())
    scores["colorized"].append(psnr(pil_to_tensor(out), truth).item())
    for k, im in zip(colourful, (g, out, photo), strict=True):
        colourful[k].append(colorfulness(im))
show_rows(rows[:4], ["grey input", "colorized", "photo"])
for k in scores:
    print(f"{k:<11} PSNR {np.mean(scores[k]):.2f} dB")
for k in colourful:
    print(f"{k:<11} colorfulness {np.mean(colourful[k]):.1f}")

# %% [markdown]
# ## Checks
#
# - The colorizer adds colour (colorfulness well above the grey input's 0) and the colours are
#   right more than wrong: its output is closer to the real photo than the grey input is (PSNR),
#   on photos it never saw.
# - It keeps the photo's brightness: the output's luma is the input's (up to 8-bit rounding).

# %%
assert np.mean(colourful["colorized"]) > 5.0, colourful
assert np.mean(scores["colorized"]) > np.mean(scores["grey input"]) + 0.5, scores
g, out = rows[0][0], rows[0][1]
luma_in = np.asarray(g.convert("L"), dtype=np.float64)
luma_out = np.asarray(out.convert("L"), dtype=np.float64)
assert np.abs(luma_in - luma_out).max() <= 2.0, np.abs(luma_in - luma_out).max()
print("all checks passed")
