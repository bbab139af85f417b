"""`lesson7 colorize PHOTO|FOLDER... --out DIR` | `colorize train` | `colorize eval`: colour grey
photos with a U-Net that predicts colour only (DeOldify's task, the end of Lesson 7).

colorize [predict] PATHS --out DIR (the verb is optional): colours photos with the shipped
colorizer (or --model RUN) at --render-size, keeping each photo's luminance; colour photos are
reported and skipped (--force makes them grey first); outputs are PNGs under DIR, existing
ones skipped.
train: DeOldify's generator recipe into a resumable run folder (model.safetensors + .json,
config.json, metrics.json, results.png).
eval: PSNR / SSIM / LPIPS of a colorizer and of the grey input on held-out colour photos.
"""

from __future__ import annotations

import argparse
import json

from lesson7.configs.colorize import ColorizeConfig, ColorizeEvalConfig, ColorizeTrainConfig
from lesson7.tasks import add_command

SUBCOMMANDS = ("train", "eval", "predict")
"""`lesson7 colorize X ...` with X not one of these means `lesson7 colorize predict X ...`."""


def register(subparsers) -> None:
    p = subparsers.add_parser("colorize", help="colorize grey photos; train or score a colorizer",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="colorize_cmd", required=True, metavar="{predict,train,eval}")
    add_command(sub, "predict", ColorizeConfig, predict,
                "colour photos (the default: `lesson7 colorize PHOTO --out DIR`)", "colorize")
    add_command(sub, "train", ColorizeTrainConfig, train, "train a colorizer", "colorize train")
    add_command(sub, "eval", ColorizeEvalConfig, evaluate,
                "score a colorizer against the grey input", "colorize eval")


def default_subcommand(argv: list[str]) -> list[str]:
    """`colorize PHOTO ...` -> `colorize predict PHOTO ...` (the everyday use needs no verb)."""
    i = argv.index("colorize")
    rest = argv[i + 1:]
    if rest and rest[0] not in SUBCOMMANDS and rest[0] not in ("-h", "--help"):
        return [*argv[:i + 1], "predict", *rest]
    return argv


def predict(cfg: ColorizeConfig) -> int:
    from lesson7.colorize.predict import colorize_images

    return 1 if colorize_images(cfg) else 0


def train(cfg: ColorizeTrainConfig) -> int:
    from lesson7.colorize.train import train_colorizer

    train_colorizer(cfg)
    return 0


def evaluate(cfg: ColorizeEvalConfig) -> int:
    from lesson7.colorize.evaluate import evaluate_colorize_cfg

    result = evaluate_colorize_cfg(cfg)
    print(json.dumps({name: {k: s[k] for k in ("model", "baseline", "n_images")}
                      for name, s in result["sets"].items()}, indent=2))
    return 0
