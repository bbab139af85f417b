"""`lesson7 demo`: the lesson end to end on small offline data."""

from __future__ import annotations

from lesson7.configs.demo import DemoConfig
from lesson7.tasks import add_command


def register(subparsers) -> None:
    add_command(subparsers, "demo", DemoConfig, run,
                "run the lesson end to end on small offline data, then write an HTML report")


def run(cfg: DemoConfig) -> int:
    from lesson7.demo import run_demo

    result = run_demo(cfg)
    print("\n=== demo summary ===")
    failed = []
    for name, s in result["stages"].items():
        if s["status"] != "done":
            failed.append(name)
            print(f"{name:<9} FAILED: {s['error']}")
            continue
        figs = "; ".join(f"{f['name']} {f['ours']:.4g}" if isinstance(f["ours"], float)
                         else f"{f['name']} {f['ours']}" for f in s["figures"][:3])
        print(f"{name:<9} {s['wall_time_s']:6.0f} s  {figs}")
    print(f"\ntotal {result['wall_time_s']:.0f} s; results: {cfg.out.resolve()}/ "
          "(one folder per stage with report.json, and summary.json)")
    if result["report_html"]:
        print(f"report: {result['report_html']}")
    return 1 if failed else 0
