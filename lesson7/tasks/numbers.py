"""`lesson7 numbers`: the human-numbers RNNs from scratch (`lesson7-human-numbers.ipynb`)."""

from __future__ import annotations

from lesson7.configs.numbers import NumbersConfig
from lesson7.tasks import add_command, print_report


def register(subparsers) -> None:
    add_command(subparsers, "numbers", NumbersConfig, run,
                "human-numbers RNNs from scratch (Model0-5, LSTM)")


def run(cfg: NumbersConfig) -> int:
    from lesson7.text.train import train_numbers

    m = train_numbers(cfg)
    if not cfg.all:
        print(f"model {m['model']}: {m['settings']['metric']} {m['final']['accuracy']:.4f}, "
              f"valid_loss {m['final']['valid_loss']:.4f} (lesson: {m['reference_accuracy']}); "
              f"wrote {cfg.out / 'metrics.json'}")
    print_report(cfg.out)
    return 0
