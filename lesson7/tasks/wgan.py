"""`lesson7 wgan`: the lesson's WGAN or WGAN-GP from noise (`lesson7-wgan.ipynb`)."""

from __future__ import annotations

import json

from lesson7.configs.wgan import WGANConfig
from lesson7.tasks import add_command, print_report


def register(subparsers) -> None:
    add_command(subparsers, "wgan", WGANConfig, run,
                "train the lesson's WGAN (or WGAN-GP) from noise")


def run(cfg: WGANConfig) -> int:
    from lesson7.wgan.train import train_wgan

    m = train_wgan(cfg)
    print(json.dumps({k: m[k] for k in ("fid", "fid_real_vs_real", "n_samples",
                                        "fid_untrained_generator")}))
    print_report(cfg.out)
    return 0
