"""`lesson7 mnist`: the lesson's MNIST CNN / ResNet (`lesson7-resnet-mnist.ipynb`)."""

from __future__ import annotations

from lesson7.configs.mnist import MnistConfig
from lesson7.tasks import add_command, print_report


def register(subparsers) -> None:
    add_command(subparsers, "mnist", MnistConfig, run, "train the lesson's MNIST CNN / ResNet")


def run(cfg: MnistConfig) -> int:
    from lesson7.mnist.train import train_mnist

    m = train_mnist(cfg)
    print(f"accuracy {m['final']['accuracy']:.4f} in {m['train_wall_s']:.0f} s; "
          f"results in {cfg.out}/ (metrics.json, loss.png, show_batch.png, model.safetensors)")
    print_report(cfg.out)
    return 0
