# %% [markdown]
# # Lesson 7: a Wasserstein GAN, from noise to images
#
# A generator turns random noise into images; a critic scores images, real ones high and
# generated ones low; the two are trained in turn. The lesson's WGAN (Arjovsky et al. 2017) makes
# the critic estimate the Wasserstein distance between the real and the generated images: its
# loss is `mean(critic(fake)) - mean(critic(real))`, and its weights are clipped to
# [-0.01, 0.01] after every step (a crude way to keep it Lipschitz). The critic trains 5 batches
# for each generator batch.

# %% [markdown]
# ## Parameters
#
# The lesson trained 30 epochs (almost 2 hours on a GPU) on 64×64 LSUN bedrooms. By default this
# notebook trains a few epochs on the 1,500 MNIST digits that ship with the package, at 32×32, so
# it runs on a CPU in a minute or two; its digits are blurry blobs, but the checks at the end show
# that they moved towards real ones. For the lesson's scale, set `SMALL = False` and `DATA` to a
# folder of images (e.g. the LSUN bedroom sample) and run it on a GPU.

# %% tags=["parameters"]
SMALL = True     # True: packaged MNIST digits, 32 px, a few epochs; False: the lesson's scale
DATA = None      # SMALL = False: a folder (or archive) of images
GP = False       # True: WGAN-GP (gradient penalty, Gulrajani et al. 2017) instead of clipping
DEVICE = "auto"
SEED = 0

# %%
import matplotlib.pyplot as plt
import torch
from IPython.display import display
from torchvision.utils import make_grid

from lesson7.data import get_image_files, resolve_dataset
from lesson7.demo import mnist_sample_path
from lesson7.gan import ClassifierFeatures, GANLearner, NoiseData, classifier_fid
from lesson7.gan.fid import fit_classifier
from lesson7.models.mnist import mnist_resnet
from lesson7.models.wgan import basic_critic, basic_generator
from lesson7.wgan import ImageBatches, load_images, to_gan_range

if SMALL:
    torch.set_num_threads(min(2, torch.get_num_threads()))
    root = resolve_dataset(mnist_sample_path())
    SIZE, CHANNELS, BS, EPOCHS, N_FEATURES, EXTRA = 32, 1, 64, 4, 32, 1
else:
    root = resolve_dataset(DATA)
    SIZE, CHANNELS, BS, EPOCHS, N_FEATURES, EXTRA = 64, 3, 128, 30, 64, 1  # the lesson's
torch.manual_seed(SEED)


def show(fig):
    display(fig)
    plt.close(fig)


def show_grid(images, title, nrow=8):
    """Images in [-1, 1] as one grid."""
    grid = make_grid((images[:nrow * nrow].float() + 1) / 2, nrow=nrow, padding=1).clamp(0, 1)
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(grid.permute(1, 2, 0).numpy())
    ax.set_title(title)
    ax.set_axis_off()
    show(fig)

# %% [markdown]
# ## Data
#
# Every image, resized and centre-cropped to `SIZE`, in memory, scaled to [-1, 1] (the range of
# the generator's final tanh). A GAN's batch is (noise, real image): the generator's input is
# fresh noise every time, 100 numbers per image.

# %%
images, _ = load_images(root, SIZE, CHANNELS)
data = NoiseData(ImageBatches(images, BS, seed=SEED), noise_sz=100)
print(f"{len(images)} images {tuple(images.shape[1:])}, {len(data.train_dl)} batches of {BS}")
noise, real = next(iter(data.train_dl))
print("noise", tuple(noise.shape), "real", tuple(real.shape), f"in [{real.min():.0f}, {real.max():.0f}]")
show_grid(real, "real images")

# %% [markdown]
# ## Generator and critic
#
# The DCGAN layout (Radford et al. 2015): the generator grows the 1×1 noise to a 4×4 grid and
# then doubles it with stride-2 transposed convolutions; the critic mirrors it with stride-2
# convolutions down to one score per image. No sigmoid at the end of the critic: a Wasserstein
# critic outputs an unbounded score, not a probability.

# %%
generator = basic_generator(SIZE, CHANNELS, noise_sz=100, n_features=N_FEATURES, n_extra_layers=EXTRA)
critic = basic_critic(SIZE, CHANNELS, n_features=N_FEATURES, n_extra_layers=EXTRA,
                      norm_type=None if GP else "batch")  # BatchNorm breaks the per-image penalty
print(f"generator: {tuple(generator(noise[:2]).shape)}, critic: {tuple(critic(real[:2]).shape)}")
print(generator)

# %% [markdown]
# `GANLearner.wgan` sets the lesson's recipe: Wasserstein losses, clipping at 0.01, 5 critic
# batches per generator batch, Adam with β1 = 0 ("GANs hate momentum") and no weight decay.
# With `GP = True` it is WGAN-GP: a penalty on the critic's gradient norm instead of clipping.

# %%
learn = GANLearner.wgan(data, generator, critic, clip=None if GP else 0.01,
                        gp_weight=10.0 if GP else 0.0, lr=2e-4, device=DEVICE,
                        path="runs/notebooks/wgan", progress=False)
fixed_noise = torch.randn(64, 100, 1, 1, generator=torch.Generator().manual_seed(SEED))
before = learn.generate(fixed_noise)
show_grid(before, "untrained generator")

# %% [markdown]
# ## How good are the samples?
#
# The lesson had no number, only pictures. We add a small FID (Fréchet distance between the
# feature statistics of real and generated images, Heusel et al. 2017) computed with the
# penultimate layer of a digit classifier (the MNIST notebook's ResNet, trained here for a few
# epochs on the labelled digits), so it only applies to digits. Real-vs-real FID between two
# halves of the data is the floor.

# %%
fid_fn = None
if CHANNELS == 1:
    labels = torch.tensor([int(p.parent.name) for p in get_image_files(root)])
    classifier = mnist_resnet()
    acc = fit_classifier(classifier, to_gan_range(images), labels, epochs=2 if SMALL else 4, seed=SEED,
                         device=str(learn.device))
    print(f"digit classifier: {acc:.2f} accuracy on its held-out 10 %")
    real01 = (to_gan_range(images) + 1) / 2
    features = ClassifierFeatures(classifier.to(learn.device), size=28, mean=[real01.mean().item()],
                                  std=[real01.std().item()])
    half = min(500, len(images) // 2)
    real_a, real_b = to_gan_range(images[:half]), to_gan_range(images[-half:])

    def fid_fn():
        fake = learn.generate(torch.randn(half, 100, 1, 1, generator=torch.Generator().manual_seed(1)))
        return classifier_fid(features, [fake], [real_a], [real_b])

    fid_before = fid_fn()
    print(f"untrained generator: FID {fid_before['fid']:.1f} "
          f"(real vs real {fid_before['fid_real_vs_real']:.1f})")

# %% [markdown]
# ## Train
#
# `fit` at a constant learning rate, as in the lesson. The table shows the smoothed generator
# and critic losses and how many batches each got. The critic loss is minus the critic's
# estimate of the Wasserstein distance: the more negative, the more easily it separates real
# from generated images.

# %%
learn.fit(EPOCHS, 2e-4)
trainer = learn.gan_trainer
fig, axes = plt.subplots(1, 2, figsize=(9, 3))
axes[0].plot(trainer.critic_history)
axes[0].set(title="critic loss (smoothed)", xlabel="critic batch")
axes[1].plot(trainer.gen_history, color="C1")
axes[1].set(title="generator loss (smoothed)", xlabel="generator batch")
show(fig)

# %% [markdown]
# ## Samples
#
# The same noise as before training. The lesson's advice: judge a GAN by its pictures, not by
# its losses.

# %%
after = learn.generate(fixed_noise)
show_grid(after, f"after {EPOCHS} epochs")
if fid_fn is not None:
    fid_after = fid_fn()
    print(f"FID: untrained {fid_before['fid']:.1f} -> trained {fid_after['fid']:.1f} "
          f"(real vs real {fid_after['fid_real_vs_real']:.1f})")

# %% [markdown]
# ## Checks
#
# - The critic learns: its loss moves from about 0 (it cannot tell the two apart at first) to a
#   clearly negative value, and it stays finite.
# - With clipping, every critic weight is inside [-0.01, 0.01].
# - Both nets were trained (the generator got its batches), and the samples changed.
# - On digits: the trained generator's FID is well below the untrained one's.

# %%
crit = trainer.critic_history
assert all(map(lambda v: v == v and abs(v) < 1e6, crit)), "critic loss became NaN/inf"
assert crit[-1] < crit[0] - 0.05 and crit[-1] < -0.05, (crit[0], crit[-1])
if not GP:
    assert all(p.abs().max() <= 0.01 + 1e-6 for p in learn.critic.parameters())
assert sum(h["gen_batches"] for h in learn.recorder.history) >= EPOCHS
assert not torch.allclose(before, after)
if fid_fn is not None:
    assert fid_after["fid"] < 0.75 * fid_before["fid"], (fid_before, fid_after)
print("all checks passed")
