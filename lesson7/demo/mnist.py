"""Demo stage `mnist`: the lesson's ResNet-ish on the packaged 1,000 + 500 digits.

`lesson7-resnet-mnist.ipynb` trains 12 epochs on 60,000 digits; with 1,000 the demo trains 30
epochs (measured: 0.946 accuracy after 12, 0.964 after 30, and more of the held-out digits
predicted with probability >= 0.9 — the wgan stage uses this model to judge its samples).
Shows a validation batch with predictions and the top losses, as the lesson does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lesson7.demo.context import StageContext, mnist_sample_path, one_thread
from lesson7.demo.images import titled_grid
from lesson7.demo.lesson_figures import MNIST_RESNET_ACCURACY, NOTEBOOKS
from lesson7.demo.stage_report import StageReport

__all__ = ["stage_mnist", "mnist_config", "EPOCHS", "QUICK_EPOCHS"]

EPOCHS, QUICK_EPOCHS = 30, 6


def mnist_config(ctx: StageContext):
    from lesson7.configs.mnist import MnistConfig

    return MnistConfig(model="resnet", data=str(mnist_sample_path()), out=ctx.root / "mnist",
                       device=ctx.device, seed=ctx.seed, bs=64,
                       epochs=QUICK_EPOCHS if ctx.quick else EPOCHS)


@torch.no_grad()
def validation_predictions(cfg) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(images (N, 28, 28) in [0, 1], probabilities (N, 10), targets (N,)) on the test digits."""
    from lesson7.mnist.train import load_mnist
    from lesson7.models.mnist import MNIST_MODELS
    from lesson7.train.checkpoint import load_checkpoint

    data = load_mnist(cfg)
    model = MNIST_MODELS[cfg.model]()
    load_checkpoint(cfg.out / "model.safetensors", model)
    model.eval()
    images, probs, targets = [], [], []
    for xb, yb in data.valid_dl:
        probs.append(F.softmax(model(xb), dim=1))
        images.append(data.denorm(xb)[:, 0].clamp(0, 1))
        targets.append(yb)
    return torch.cat(images), torch.cat(probs), torch.cat(targets)


def stage_mnist(ctx: StageContext) -> StageReport:
    from lesson7.mnist.train import train_mnist

    cfg = mnist_config(ctx)
    rep = StageReport(
        title="MNIST digits: the lesson's ResNet", lesson=NOTEBOOKS["mnist"],
        command=f"lesson7 mnist --model resnet --data {mnist_sample_path().name} --bs 64 "
                f"--epochs {cfg.epochs}",
        summary="A ResNet-ish CNN built from the lesson's conv_layer and res_block (41,132 "
                "parameters) learns to read handwritten digits, trained with one-cycle.")
    with ctx.progress.step(f"training the lesson ResNet, {cfg.epochs} epochs on 1,000 digits"), \
            one_thread(ctx):
        m = train_mnist(cfg)
    with ctx.progress.step("predictions on the 500 held-out digits, top losses"):
        images, probs, targets = validation_predictions(cfg)
        pred = probs.argmax(1)
        shown = torch.linspace(0, len(targets) - 1, 25).long()  # the digits are sorted by class
        p_shown, t_shown = pred[shown].tolist(), targets[shown].tolist()
        titled_grid(images[shown].numpy(), [f"{p} / {t}" for p, t in zip(p_shown, t_shown, strict=True)],
                    5, ctx.dir / "batch_predictions.png",
                    colors=["green" if p == t else "red" for p, t in zip(p_shown, t_shown, strict=True)])
        losses = F.nll_loss(probs.clamp_min(1e-12).log(), targets, reduction="none")
        top = losses.topk(9).indices
        titled_grid(images[top].numpy(),
                    [f"{pred[i]}/{targets[i]}/{losses[i]:.2f}/{probs[i, targets[i]]:.2f}"
                     for i in top.tolist()], 3, ctx.dir / "top_losses.png")
    hist = m["history"]
    acc = m["final"]["accuracy"]
    rep.figure("accuracy on held-out digits", acc, MNIST_RESNET_ACCURACY,
               note=f"ours: {len(targets)} test digits after training on 1,000 for {cfg.epochs} "
                    "epochs; lesson: 10,000 test digits after 60,000 for 12 epochs")
    rep.figure("held-out digits predicted with probability >= 0.9",
               float((probs.max(1).values >= 0.9).float().mean()), None,
               note="the wgan stage's digit test uses this threshold with this model")
    rep.figure("parameters", m["params"], 41132, note="the lesson's ResNet-ish model")
    epochs = [h["epoch"] + 1 for h in hist]
    rep.curve("loss", "epoch", epochs, {"train": [h["train_loss"] for h in hist],
                                        "valid": [h["valid_loss"] for h in hist]})
    rep.curve("accuracy", "epoch", epochs, {"valid": [h["accuracy"] for h in hist]})
    rep.grid("A validation batch: predicted / actual (red: wrong)",
             [("25 held-out digits", "batch_predictions.png")])
    rep.grid("Top losses: predicted / actual / loss / probability of the actual digit",
             [("the 9 held-out digits the model is most wrong about", "top_losses.png")])
    return rep
