"""Before vs after the GAN stage: the same restore evaluation on two generators, side by side.

`compare(before, after)` builds the table from two `restore eval` results; `report_markdown`
renders it; `compare_runs(cfg)` is `lesson7 gan compare`: it evaluates both runs and writes
metrics.json and report.md. LPIPS needs an ImageNet AlexNet trunk: without one the chain
reports it as null ("n/a"), and `gan compare` asks for --no-lpips.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lesson7.configs.nogan import CompareConfig
from lesson7.configs.restore import EvalConfig
from lesson7.files import atomic_write_json, atomic_write_text
from lesson7.quality.lpips_metric import lpips_unavailable

__all__ = ["COMPARED", "compare", "report_markdown", "evaluate_run", "compare_runs"]

COMPARED = ("psnr", "psnr_y", "ssim", "lpips")
LOWER_IS_BETTER = {"lpips"}


def evaluate_run(run: Path, hr: Path, eval_size: int | None, out: Path, device: str = "auto",
                 lpips: bool = True, lpips_weights: Path | None = None) -> dict[str, Any]:
    """`restore eval` of the model in `run` on `hr`, written to `out`; returns the result."""
    from lesson7.restore.evaluate import evaluate_restorer

    return evaluate_restorer(EvalConfig(checkpoint=run, hr=hr, eval_size=eval_size, out=out,
                                        device=device, lpips=lpips, lpips_weights=lpips_weights))


def _change(m: str, b: float | None, a: float | None) -> tuple[float | None, bool | None]:
    if a is None or b is None:  # e.g. LPIPS without its weights
        return None, None
    return a - b, (a < b) if m in LOWER_IS_BETTER else (a > b)


def compare(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Side by side: the degraded input, the generator before and after the GAN, and the change."""
    rows = {}
    for m in COMPARED:
        b, a = before["model"][m], after["model"][m]
        change, better = _change(m, b, a)
        rows[m] = {"input": before["baseline"][m], "before_gan": b, "after_gan": a,
                   "change": change, "better": better}
    return {"metrics": rows, "n_images": before["n_images"], "degrade": before["degrade"],
            "eval_size": before.get("eval_size"), "notes": before.get("metric_notes")}


def _fmt(v: float | None, signed: bool = False) -> str:
    if v is None:
        return "n/a"
    return f"{v:+.4f}" if signed else f"{v:.4f}"


def report_markdown(table: dict[str, Any], title: str = "Generator before vs after the GAN stage"
                    ) -> str:
    """The comparison as a Markdown table ("n/a" where a metric could not be computed)."""
    where = (f"short side {table['eval_size']} px" if table["eval_size"]
             else "full resolution, borders shaved")
    lines = [f"# {title}", "",
             f"{table['n_images']} images, degradation `{table['degrade']}`, scored at {where} "
             f"({table['notes']}).", "",
             "| metric | degraded input | before GAN | after GAN | change |",
             "|---|---|---|---|---|"]
    for m, r in table["metrics"].items():
        arrow = "lower is better" if m in LOWER_IS_BETTER else "higher is better"
        lines.append(f"| {m} ({arrow}) | {_fmt(r['input'])} | {_fmt(r['before_gan'])} | "
                     f"{_fmt(r['after_gan'])} | {_fmt(r['change'], signed=True)} |")
    if any(r["after_gan"] is None for r in table["metrics"].values()):
        lines += ["", "n/a: not computed (LPIPS needs ImageNet AlexNet weights; see README, Data)."]
    return "\n".join(lines) + "\n"


def compare_runs(cfg: CompareConfig) -> dict[str, Any]:
    """`lesson7 gan compare`: both runs scored on cfg.hr; writes metrics.json and report.md."""
    from lesson7.restore.restorer import resolve_checkpoint
    from lesson7.train.checkpoint import read_metadata
    from lesson7.train.learner import pick_device

    pick_device(cfg.device)  # an unusable --device fails first, as in every command
    for run_dir in (cfg.before, cfg.after):
        resolve_checkpoint(run_dir)  # a ValueError naming the folder if there is no model
    if cfg.lpips and (why := lpips_unavailable(cfg.lpips_weights)):
        raise ValueError(f"{why} Or pass --no-lpips to report LPIPS as n/a.")
    meta = read_metadata(resolve_checkpoint(cfg.after))
    bicubic = str(meta.get("degrade", "")).startswith("bicubic")  # scored at full size
    eval_size = None if bicubic else (cfg.eval_size or meta.get("train_size"))
    out = cfg.out if cfg.out is not None else cfg.after / f"compare_{cfg.hr.name}"
    results = {name: evaluate_run(run, cfg.hr, eval_size, out / name, cfg.device, cfg.lpips,
                                  cfg.lpips_weights)
               for name, run in (("before", cfg.before), ("after", cfg.after))}
    table = compare(results["before"], results["after"])
    table.update(before=str(cfg.before), after=str(cfg.after), hr=str(cfg.hr))
    atomic_write_json(out / "metrics.json", table)
    atomic_write_text(out / "report.md", report_markdown(table, f"{cfg.before} vs {cfg.after}"))
    return table
