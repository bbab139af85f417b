"""`lesson7 demo`: the lesson end to end on small offline data."""

from __future__ import annotations

from lesson7.configs.demo import DemoConfig
from lesson7.tasks import add_command


def register(subparsers) -> None:
    add_command(subparsers, "demo", DemoConfig, run,
                "run the lesson end to end on small offline data")


def run(cfg: DemoConfig) -> int:
    from lesson7.demo import run_demo

    summary = run_demo(cfg)
    print("\n=== demo summary ===")
    for name, s in summary.items():
        shown = {k: round(v, 4) if isinstance(v, float) else v for k, v in s.items()}
        print(f"{name:<10} {shown}")
    print(f"\nresults: {cfg.out.resolve()}/ (summary.json, and one folder per stage)")
    return 0
