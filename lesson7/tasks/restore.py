"""`lesson7 restore train | predict | eval`: the lesson's U-Net image restoration
(`lesson7-superres.ipynb`, `lesson7-superres-gan.ipynb`).

train: writes OUT/model.safetensors + model.json, config.json, metrics.json and results.png;
an interrupted run resumes when the same command is run again (OUT/state/).
predict: restores any image size in blended tiles streamed into PNGs, EXIF orientation
respected; `restore predict photo.jpg --out DIR` (no run folder) uses the shipped model; outputs
keep their relative paths under OUT, never in an input folder; existing ones are skipped.
eval: metrics.json with the model's and the degraded input's PSNR / PSNR-Y / SSIM / LPIPS.
"""

from __future__ import annotations

import argparse
import json

from lesson7.configs.restore import EvalConfig, PredictConfig, RestoreTrainConfig
from lesson7.tasks import add_command, print_report


def register(subparsers) -> None:
    p = subparsers.add_parser("restore", help="U-Net image restoration: train, predict, eval",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="restore_cmd", required=True, metavar="{train,predict,eval}")
    add_command(sub, "train", RestoreTrainConfig, train, "train a restoration U-Net",
                "restore train")
    add_command(sub, "predict", PredictConfig, predict,
                "restore images with a trained model or the shipped one", "restore predict")
    add_command(sub, "eval", EvalConfig, evaluate, "score a model against the degraded input",
                "restore eval")


def train(cfg: RestoreTrainConfig) -> int:
    from lesson7.restore.train import train_restorer

    train_restorer(cfg)
    print_report(cfg.out)
    return 0


def predict(cfg: PredictConfig) -> int:
    from lesson7.restore.predict import predict_images

    return 1 if predict_images(cfg) else 0


def evaluate(cfg: EvalConfig) -> int:
    from lesson7.restore.evaluate import evaluate_restorer

    result = evaluate_restorer(cfg)
    print(json.dumps({k: result[k] for k in ("model", "baseline", "n_images")}, indent=2))
    return 0
