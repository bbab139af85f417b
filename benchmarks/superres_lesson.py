"""Benchmark: the lesson's superres notebook (`lesson7-superres.ipynb`) reproduced and measured.

Question: does the feature loss give visibly sharper restorations than a pixel (MSE) loss at the
same budget, and does a pretrained encoder beat the lesson's from-scratch resnet34 U-Net at equal
wall time? Every model trains for the same wall-clock budget (`--seconds-per-model`), one after
another in one process, with its one-cycle schedules spread over that time
(`lesson7.train.WallClockCycle`), for `--seeds` seeds; scores are medians over the seeds with
their range, on held-out photos only.

Track A (the lesson's): pets crappified by the lesson's crappifier (`lesson` mode: short side 96,
JPEG q 10-70, the quality stamped as text), a U-Net on the pretrained EfficientNet-Lite0 encoder
(blur, weight norm, no self-attention, no y_range: the notebook's `unet_learner`), wd 1e-3,
progressive resizing 128 px (bs 32) then 256 px (bs 12), each size frozen then unfrozen with the
notebook's learning rates (1a slice(1e-2), 1b slice(1e-5, 1e-3), 2a slice(1e-3),
2b slice(1e-6, 1e-4); pct_start 0.9, 0.9, 0.9, 0.3). The budget is shared 10/10/40/40 % as
the notebook's four fits took (11, 12, 44 and 45 minutes). Two models: the FEATURE loss (VGG16
relu3_3/4_3/5_3, weights 5/15/2, Gram 5e3·w²; plain VGG16 from `lesson7.weights`'
vgg16_features.safetensors where the notebook had VGG16-BN)
and an MSE control with the same everything else.

Track B (bicubic x4): the same photos plus BSD200 (training photos only), bicubic down and up x4,
native-resolution 128 px crops (flips only), MSE loss, the superres-gan generator (blur, weight
norm, self-attention), both U-Nets started as the identity on their input (`--identity-init`,
the library's bicubic recipe). Pretrained EfficientNet-Lite0: frozen
40 % (slice(3e-3), pct 0.8) then unfrozen 60 % (slice(1e-6, 1e-3), pct 0.3); the lesson's
resnet34 from random init: one phase at lr 1e-3 in every layer group (a random encoder has no
features to protect).

Evaluation (`lesson7.restore.evaluate`): Set5, BSD100 (BSDS500 val) and the pets validation
split (seeded 10 %, seed 42, the photos `scripts/prepare_shipped_data.py` leaves out), degraded
by the track's degradation at a fixed per-file seed (`--eval-seed`). Track A scores at the last
training size (HR short side 256; the crappified input bicubic-upsampled to it); track B on the
whole image with 4 px shaved. PSNR (RGB), PSNR-Y, SSIM-Y, LPIPS (AlexNet) for the input and each
model. Plus a gallery PNG per track: the same centre crops, columns input | models | target.

    # GPU (trains 12 models one after another, saves fp16 weights + logs; no LPIPS needed):
    python benchmarks/superres_lesson.py --device cuda --workers 4 --seconds-per-model 10 \\
        --train-data .gpu/sr --out .gpu/o/superres --no-eval
    # then score them where lpips is installed. The weights (18.7 MB per Lite0 U-Net, 83 MB per
    # resnet34 U-Net in fp16) are too big to bring back from the device, so score them there;
    # only results.json, results.md and gallery.png go to --report:
    python benchmarks/superres_lesson.py --eval-only --device cuda --threads 4 --lpips \\
        --shared .gpu/eval/shared --out .gpu/o/superres --report $OUT/superres
    # CPU smoke run (a few minutes): tiny budgets, one seed, two images per set
    python benchmarks/superres_lesson.py --device cpu --seconds-per-model 5 --seeds 1 --limit 2 \\
        --workers 2 --out /tmp/superres_smoke

Training photos: `python scripts/prepare_shipped_data.py --shared ../shared --out data/shipped`
(`--train-data data/shipped`, the default: its pets_train/ and bsd200/).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image

from lesson7.configs.restore import RestoreTrainConfig
from lesson7.data.images import open_pil_image
from lesson7.files import atomic_path, atomic_write_json, atomic_write_text
from lesson7.models.unet import unet_splitter
from lesson7.restore.evaluate import degrade_for_eval, evaluate
from lesson7.restore.restorer import Restorer, UnetConfig, build_unet, pil_to_tensor, tensor_to_pil
from lesson7.restore.train import build_data, make_pairs
from lesson7.runs import run_info
from lesson7.train import Learner, TerminateOnNaN, WallClockCycle
from lesson7.train.learner import pick_device
from lesson7.train.seed import seed_everything

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shipped_restorer import held_out_sets  # noqa: E402  (the same held-out photo lists)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / ".." / "shared"
if (SHARED / "weights").is_dir():  # offline VGG16 / AlexNet trunks, found via $LESSON7_WEIGHTS
    os.environ.setdefault("LESSON7_WEIGHTS", str(SHARED / "weights"))
METRICS = ("psnr", "psnr_y", "ssim", "lpips")
SETS = ("set5", "bsd100", "pets_valid")


@dataclass(frozen=True)
class Phase:
    size: int
    bs: int
    frozen: bool
    share: float
    """Share of the model's wall-clock budget."""
    lr: float | tuple[float, float]
    """A float (every layer group), or (lo, hi) for slice(lo, hi) (hi alone when lo is 0)."""
    pct_start: float

    @property
    def lrs(self) -> float | slice:
        if isinstance(self.lr, tuple):
            lo, hi = self.lr
            return slice(hi) if lo == 0 else slice(lo, hi)
        return self.lr


@dataclass(frozen=True)
class Model:
    name: str
    arch: str
    pretrained: bool
    loss: str
    phases: tuple[Phase, ...]


@dataclass(frozen=True)
class Track:
    name: str
    degrade: str
    folders: tuple[str, ...]
    """Training folders under --train-data."""
    unet: dict = field(default_factory=dict)
    identity_init: bool = False
    eval_size: int | None = None
    models: tuple[Model, ...] = ()


# The notebook: 1a/1b at 128 px, bs 32; 2a/2b at 256 px, bs 12; lr = 1e-3.
LESSON_PHASES = (Phase(128, 32, True, 0.1, (0, 1e-2), 0.9),
                 Phase(128, 32, False, 0.1, (1e-5, 1e-3), 0.9),
                 Phase(256, 12, True, 0.4, (0, 1e-3), 0.9),
                 Phase(256, 12, False, 0.4, (1e-6, 1e-4), 0.3))
TRACKS = {
    "A": Track("A", "lesson", ("pets_train",),
               unet={"blur": True, "self_attention": False, "y_range": None, "norm_type": "weight"},
               eval_size=256,
               models=(Model("mse", "efficientnet_lite0", True, "mse", LESSON_PHASES),
                       Model("feature", "efficientnet_lite0", True, "feature", LESSON_PHASES))),
    "B": Track("B", "bicubic-x4", ("pets_train", "bsd200"),
               unet={"blur": True, "self_attention": True, "y_range": None, "norm_type": "weight",
                     "scale": 4.0},
               identity_init=True,
               models=(Model("lite0", "efficientnet_lite0", True, "mse",
                             (Phase(128, 32, True, 0.4, (0, 3e-3), 0.8),
                              Phase(128, 32, False, 0.6, (1e-6, 1e-3), 0.3))),
                       Model("resnet34_scratch", "resnet34", False, "mse",
                             (Phase(128, 32, False, 1.0, 1e-3, 0.3),)))),
}


def _loss(kind: str):
    from lesson7.losses import MSELossFlat

    if kind == "mse":
        return MSELossFlat()
    from lesson7.losses.perceptual import VGG16_TRUNK_FILE, FeatureLoss
    from lesson7.weights import find_weights, where_to_put

    found = find_weights(VGG16_TRUNK_FILE)
    if found is None:  # never a silent torchvision download attempt on an offline GPU box
        raise SystemExit(f"the feature loss needs {VGG16_TRUNK_FILE}: {where_to_put(VGG16_TRUNK_FILE)}")
    return FeatureLoss.from_pretrained("vgg16", weights_path=found)


def smoke(track: Track) -> Track:
    """The recipe shrunk for a CPU proof of the pipeline: half the sizes, an eighth of the
    batch sizes (not for figures)."""
    from dataclasses import replace

    models = tuple(replace(m, phases=tuple(replace(p, size=p.size // 2, bs=max(2, p.bs // 8))
                                           for p in m.phases)) for m in track.models)
    return replace(track, models=models, eval_size=track.eval_size and track.eval_size // 2)


def model_dir(out: Path, track: str, model: str, seed: int) -> Path:
    return out / "models" / f"{track}_{model}_s{seed}"


def _commit() -> str:
    try:  # the device machine may have no git (or no .git): the run must not fail for that
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=ROOT).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def train_track(track: Track, args: argparse.Namespace, device: torch.device) -> None:
    folders = [args.train_data / f for f in track.folders]
    for f in folders:
        if not f.is_dir():
            raise SystemExit(f"--train-data: {f} is not a folder (make it with "
                             "scripts/prepare_shipped_data.py)")
    pending = [(m, s) for m in track.models for s in args.seed_list
               if args.overwrite or not (model_dir(args.out, track.name, m.name, s)
                                         / "model.safetensors").is_file()]
    if not pending:
        print(f"track {track.name}: every model is already trained in {args.out}")
        return
    t0 = time.perf_counter()
    cfg = RestoreTrainConfig(hr=folders, out=args.out / "data" / track.name, workers=args.workers,
                             seed=0, **({"degrade": track.degrade} if track.degrade.startswith("bicubic")
                                        else {"crappify": track.degrade}))
    pairs = make_pairs(cfg)  # the library's input maker: written once, reused by every model
    bicubic = track.degrade.startswith("bicubic")
    sizes = sorted({(p.size, p.bs) for m in track.models for p in m.phases})
    data = {size: build_data(pairs, size, bs, bicubic, 0.1, args.workers,
                             num_workers=args.workers).to(device)
            for size, bs in sizes}
    print(f"track {track.name}: {len(pairs)} pairs ({track.degrade}); "
          + ", ".join(f"{s} px: {len(d.train_dl)} train / {len(d.valid_dl)} valid batches"
                      for s, d in data.items())
          + f"; data ready in {time.perf_counter() - t0:.1f} s", flush=True)
    losses = {m.loss: _loss(m.loss).to(device) for m, _ in pending}  # the Learner keeps it where it is
    for d in data.values():  # start the (persistent) loader workers before any clock runs
        for dl in (d.train_dl, d.valid_dl):
            next(iter(dl))
    if args.warm_up if args.warm_up is not None else device.type == "cuda":
        warm_up(track, data, losses, device)
    for model_spec, seed in pending:
        train_one(track, model_spec, seed, data, losses[model_spec.loss], args, device)
    del data
    gc.collect()


def warm_up(track: Track, data: dict, losses: dict, device: torch.device) -> None:
    """One untimed forward/backward per model and size: CUDA's lazy initialisation (kernels,
    cuBLAS/cuDNN handles) is not charged to whichever model happens to train first."""
    t0 = time.perf_counter()
    for spec in track.models:
        for size in sorted({p.size for p in spec.phases}):
            ucfg = UnetConfig(arch=spec.arch, img_size=(size, size), **track.unet)
            model = build_unet(ucfg, pretrained=False).to(device)
            xb, yb = (t.to(device) for t in data[size].train_dl.one_batch())
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                loss = losses[spec.loss](model(xb), yb)
            loss.backward()
            del model, loss
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    print(f"warm-up {time.perf_counter() - t0:.1f} s (untimed)", flush=True)


def train_one(track: Track, spec: Model, seed: int, data: dict, loss_fn, args: argparse.Namespace,
              device: torch.device) -> None:
    out = model_dir(args.out, track.name, spec.name, seed)
    t_start = time.perf_counter()
    seed_everything(seed)
    first = spec.phases[0].size
    ucfg = UnetConfig(arch=spec.arch, n_out=3, in_channels=3, img_size=(first, first),
                      **track.unet)
    model = build_unet(ucfg, pretrained=spec.pretrained)
    if track.identity_init:
        model.init_identity_()
    learn = Learner(model, data[first], loss_fn, wd=1e-3, splitter=unet_splitter, path=out,
                    device=device)
    phases = []
    for i, ph in enumerate(spec.phases):
        learn.data = data[ph.size].to(learn.device)
        for dl in (learn.data.train_dl, learn.data.valid_dl):  # a different order per seed/phase
            dl.seed = seed * 100 + i
        if ph.frozen:
            learn.freeze()
        else:
            learn.unfreeze()
        budget = WallClockCycle(args.seconds_per_model * ph.share, clock=CLOCKS[args.clock])
        n_hist = len(learn.recorder.history)
        learn.fit_one_cycle(1_000_000, ph.lrs, pct_start=ph.pct_start,
                            cbs=[budget, TerminateOnNaN()])
        rows = learn.recorder.history[n_hist:]
        phases.append({"size": ph.size, "bs": ph.bs, "frozen": ph.frozen, "lr": ph.lr,
                       "pct_start": ph.pct_start, "budget_s": budget.seconds,
                       "train_s": round(budget.elapsed, 3), "batches": budget.batches,
                       "images": budget.batches * ph.bs, "epochs_validated": len(rows),
                       "last_valid_loss": rows[-1].get("valid_loss") if rows else None})
        print(f"  {track.name}/{spec.name} seed {seed} phase {i + 1}: {ph.size} px "
              f"{'frozen' if ph.frozen else 'unfrozen'}, {budget.batches} batches in "
              f"{budget.elapsed:.1f} s", flush=True)
    train_s = sum(p["train_s"] for p in phases)
    half = Restorer(learn.model.half(), ucfg)  # fp16 weights: half the transfer size
    half.save(out / "model", degrade=track.degrade, train_size=spec.phases[-1].size,
              dtype="float16", benchmark="superres_lesson", track=track.name, model=spec.name,
              seed=seed, loss=spec.loss)
    log = {"track": track.name, "model": spec.name, "arch": spec.arch, "pretrained": spec.pretrained,
           "loss": spec.loss, "seed": seed, "seconds_per_model": args.seconds_per_model, "clock": args.clock,
           "train_s": train_s, "wall_s_with_setup": time.perf_counter() - t_start,
           "phases": phases, "history": learn.recorder.history, "commit": _commit(),
           "load_avg": os.getloadavg(), "host": platform.node(), **run_info(device)}
    atomic_write_json(out / "log.json", log)
    print(f"  saved {out} ({train_s:.1f} s of training)", flush=True)
    del learn, half, model
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


# -- evaluation ------------------------------------------------------------------------------
def _lpips(args: argparse.Namespace, device: torch.device):
    """LPIPS (AlexNet) on `device`, or None (reported as null) when asked or unavailable."""
    if args.lpips is False:
        return None
    try:
        from lesson7.quality import LPIPS

        metric = LPIPS("alex").to(device)
    except Exception as e:  # noqa: BLE001 - no lpips package or no trunk: say so, score the rest
        if args.lpips:
            raise SystemExit(f"LPIPS unavailable: {e}") from None
        print(f"LPIPS unavailable ({type(e).__name__}: {str(e).splitlines()[0][:200]}); "
              "reported as null", flush=True)
        return None
    return lambda p, t: metric(p.to(device), t.to(device)).cpu()


def evaluate_all(args: argparse.Namespace, device: torch.device) -> dict:
    sets = held_out_sets(args.shared)
    lpips = _lpips(args, device)
    results: dict = {"tracks": {}}
    sheets = []
    for tname in args.tracks:
        track = _track(tname, args)
        tres: dict = {"degrade": track.degrade, "eval_size": track.eval_size, "sets": {},
                      "train": {}}
        for spec in track.models:
            for seed in args.seed_list:
                d = model_dir(args.out, tname, spec.name, seed)
                if not (d / "model.safetensors").is_file():
                    raise SystemExit(f"{d}/model.safetensors is missing: train it first")
                log = json.loads((d / "log.json").read_text())
                tres["train"][f"{spec.name}_s{seed}"] = {
                    k: log[k] for k in ("train_s", "device", "commit", "load_avg")}
                tres["train"][f"{spec.name}_s{seed}"]["batches"] = [p["batches"] for p in log["phases"]]
        for set_name in args.sets:
            items = sets[set_name][:args.limit]
            paths, root = [f for f, _ in items], items[0][1]
            per_model: dict = {}
            baseline = None
            for spec in track.models:
                per_seed = {}
                for seed in args.seed_list:
                    r = Restorer.load(model_dir(args.out, tname, spec.name, seed), device)
                    t0 = time.perf_counter()
                    res = evaluate(lambda x, r=r: r.restore_tensor(x, args.tile, 32), paths,
                                   track.degrade, seed=args.eval_seed, eval_size=track.eval_size,
                                   root=root, lpips=lpips if lpips is not None else False)
                    per_seed[seed] = res["model"]
                    baseline = res["baseline"]
                    print(f"  {tname} {set_name} {spec.name} s{seed}: "
                          + " ".join(f"{m} {_f(res['model'][m])}" for m in METRICS)
                          + f" ({time.perf_counter() - t0:.1f} s)", flush=True)
                per_model[spec.name] = {"per_seed": per_seed, **_median_range(per_seed)}
            tres["sets"][set_name] = {"n_images": len(paths), "input": baseline, "models": per_model}
            print(f"  {tname} {set_name} input: "
                  + " ".join(f"{m} {_f(baseline[m])}" for m in METRICS), flush=True)
        if not args.no_gallery:
            sheets.append(gallery(track, args, device, sets))
        results["tracks"][tname] = tres
    if sheets:
        results["gallery"] = str(save_gallery(sheets, args.report / "gallery.png"))
    return results


def _f(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4f}"


def _median_range(per_seed: dict) -> dict:
    out = {}
    for m in METRICS:
        vals = [v[m] for v in per_seed.values() if v[m] is not None]
        out[m] = ({"median": statistics.median(vals), "min": min(vals), "max": max(vals)}
                  if vals else None)
    return out


def gallery(track: Track, args: argparse.Namespace, device: torch.device, sets: dict) -> Image.Image:
    """Same centre crop of a few held-out photos: input | each model (first seed) | target."""
    crop = args.gallery_crop
    picks = [(s, sets[s][i]) for s in SETS if s in args.sets for i in range(args.gallery_per_set)
             if i < len(sets[s][:args.limit])]
    seed = args.seed_list[0]
    restorers = [Restorer.load(model_dir(args.out, track.name, m.name, seed), device)
                 for m in track.models]
    rows = []
    for _, (path, root) in picks:
        hr, inp, _ = degrade_for_eval(open_pil_image(path, "RGB"), track.degrade, args.eval_seed,
                                      path.relative_to(root), track.eval_size)
        x = pil_to_tensor(inp)
        outs = [tensor_to_pil(r.restore_tensor(x, args.tile, 32)) for r in restorers]
        w, h = hr.size
        c = min(crop, w, h)
        box = ((w - c) // 2, (h - c) // 2, (w - c) // 2 + c, (h - c) // 2 + c)
        rows.append([im.crop(box) for im in (inp, *outs, hr)])
    zoom = args.gallery_zoom
    c = max(r[0].width for r in rows)
    head = 18
    sheet = Image.new("RGB", (len(rows[0]) * c * zoom, head + len(rows) * c * zoom), "white")
    from PIL import ImageDraw

    draw = ImageDraw.Draw(sheet)
    names = [f"track {track.name}: input", *(m.name for m in track.models), "target"]
    for j, name in enumerate(names):
        draw.text((j * c * zoom + 4, 3), name, fill=(0, 0, 0))
    for i, row in enumerate(rows):
        for j, im in enumerate(row):
            sheet.paste(im.resize((im.width * zoom, im.height * zoom), Image.Resampling.NEAREST),
                        (j * c * zoom, head + i * c * zoom))
    return sheet


def save_gallery(sheets: list[Image.Image], path: Path) -> Path:
    """The tracks' galleries one under the other, in one PNG."""
    sheet = Image.new("RGB", (max(s.width for s in sheets), sum(s.height for s in sheets)), "white")
    y = 0
    for s in sheets:
        sheet.paste(s, (0, y))
        y += s.height
    with atomic_path(path) as tmp:
        sheet.save(tmp, "PNG")
    return path


def markdown(results: dict, args: argparse.Namespace) -> str:
    lines = [f"Seeds {args.seed_list}; cells: median over seeds [min–max]; "
             f"{args.seconds_per_model_note}; eval device {results['eval_device']}", ""]
    if args.smoke:
        lines[:0] = ["**SMOKE RUN (--smoke: half the sizes, 1/8 of the batch sizes): a test of the "
                     "pipeline, not figures.**", ""]
    for tname, t in results["tracks"].items():
        track = _track(tname, args)
        lines.append(f"### Track {tname} ({t['degrade']})")
        lines.append("")
        lines.append("| set | n | model | PSNR (RGB) | PSNR-Y | SSIM-Y | LPIPS ↓ |")
        lines.append("|---|---|---|---|---|---|---|")
        for set_name, s in t["sets"].items():
            inp = s["input"]
            lines.append(f"| {set_name} | {s['n_images']} | input | "
                         + " | ".join(_f(inp[m]) for m in METRICS) + " |")
            for spec in track.models:
                r = s["models"][spec.name]
                cells = []
                for m in METRICS:
                    v = r[m]
                    cells.append("n/a" if v is None else
                                 f"{v['median']:.4f} [{v['min']:.4f}–{v['max']:.4f}]")
                lines.append(f"| {set_name} | {s['n_images']} | {spec.name} | " + " | ".join(cells) + " |")
        train = t["train"]
        lines.append("")
        lines.append("Training: " + "; ".join(
            f"{k} {v['train_s']:.1f} s, batches {v['batches']}" for k, v in train.items()))
        lines.append("")
    return "\n".join(lines)


def _track(name: str, args: argparse.Namespace) -> Track:
    from dataclasses import replace

    track = TRACKS[name]
    if track.identity_init and not args.identity_init:  # the lesson's y_range(-3, 3) instead
        track = replace(track, identity_init=False, unet={**track.unet, "y_range": (-3.0, 3.0)})
    return smoke(track) if args.smoke else track


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
"""What `--seconds-per-model` counts."""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="models/ (weights + logs), data/, results")
    ap.add_argument("--report", type=Path, default=None,
                    help="where results.json, results.md and the galleries go (default --out)")
    ap.add_argument("--seconds-per-model", type=float, default=15.0,
                    help="wall-clock training budget of every model and seed")
    ap.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per model")
    ap.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                    help="budget in wall seconds, or in this process's CPU seconds (equal compute "
                         "on a shared CPU machine whatever else runs; use with --workers 0)")
    ap.add_argument("--tracks", nargs="+", default=["A", "B"], choices=sorted(TRACKS))
    ap.add_argument("--device", default="auto")
    ap.add_argument("--workers", type=int, default=4, help="data-loading processes")
    ap.add_argument("--train-data", type=Path, default=ROOT / "data" / "shipped",
                    help="folder holding pets_train/ and bsd200/ (scripts/prepare_shipped_data.py)")
    ap.add_argument("--shared", type=Path, default=SHARED,
                    help="folder holding datasets/{set5,bsds500/val,oxford_pets_sample}")
    ap.add_argument("--eval-only", action="store_true", help="score saved models; no training")
    ap.add_argument("--no-eval", action="store_true", help="train and save only")
    ap.add_argument("--overwrite", action="store_true", help="retrain models already saved")
    ap.add_argument("--lpips", action=argparse.BooleanOptionalAction, default=None,
                    help="score LPIPS (default: when the lpips package and AlexNet trunk exist)")
    ap.add_argument("--sets", nargs="+", default=list(SETS), choices=SETS)
    ap.add_argument("--limit", type=int, default=None, help="first N images of each set")
    ap.add_argument("--eval-seed", type=int, default=0, help="degradation seed (per file)")
    ap.add_argument("--tile", type=int, default=512)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--warm-up", action=argparse.BooleanOptionalAction, default=None,
                    help="one untimed step per model and size first (default: on CUDA only)")
    ap.add_argument("--identity-init", action=argparse.BooleanOptionalAction, default=True,
                    help="track B: start both U-Nets as the identity on their input (--no-identity-init: "
                         "the lesson's y_range (-3, 3) and random output)")
    ap.add_argument("--smoke", action="store_true",
                    help="CPU proof of the pipeline: half the sizes, 1/8 of the batch sizes")
    ap.add_argument("--no-gallery", action="store_true")
    ap.add_argument("--gallery-per-set", type=int, default=2)
    ap.add_argument("--gallery-crop", type=int, default=96)
    ap.add_argument("--gallery-zoom", type=int, default=2)
    args = ap.parse_args()
    if args.seconds_per_model <= 0 or args.seeds < 1 or args.workers < 0:
        raise SystemExit("need --seconds-per-model > 0, --seeds >= 1, --workers >= 0")
    if args.threads:
        torch.set_num_threads(args.threads)
    args.seed_list = list(range(args.seeds))
    args.report = args.report or args.out
    device = pick_device(args.device)
    print(f"superres_lesson: commit {_commit()}, {run_info(device)['device']}, torch "
          f"{torch.__version__}, load {os.getloadavg()[0]:.2f}, tracks {args.tracks}, seeds "
          f"{args.seed_list}, {args.seconds_per_model} {args.clock} s per model", flush=True)
    if not args.eval_only:
        t0 = time.perf_counter()
        for t in args.tracks:
            train_track(_track(t, args), args, device)
        print(f"training done in {time.perf_counter() - t0:.1f} s (wall, setup included)",
              flush=True)
    if args.no_eval:
        return
    t0 = time.perf_counter()
    results = evaluate_all(args, device)
    budgets = sorted({v["train_s"] for t in results["tracks"].values() for v in t["train"].values()})
    args.seconds_per_model_note = (f"training per model {budgets[0]:.1f}–{budgets[-1]:.1f} s {args.clock} "
                                   "(measured)") if budgets else ""
    results.update({"commit": _commit(), "eval_device": run_info(device)["device"],
                    "eval_seed": args.eval_seed, "limit": args.limit, "seeds": args.seed_list,
                    "eval_s": time.perf_counter() - t0, "load_avg": os.getloadavg(),
                    "smoke": args.smoke, "limit_per_set": args.limit})
    atomic_write_json(args.report / "results.json", results)
    md = markdown(results, args)
    atomic_write_text(args.report / "results.md", md + "\n")
    print(md)


if __name__ == "__main__":
    main()
