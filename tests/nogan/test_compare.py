"""Before vs after the GAN: `compare` and `report_markdown` on hand-made results, and
`evaluate_run` / `compare_runs` on the chain's runs without LPIPS weights."""

import pytest

from lesson7.configs.nogan import CompareConfig
from lesson7.nogan.compare import compare, compare_runs, evaluate_run, report_markdown


def _result(psnr, lpips):
    return {"model": {"psnr": psnr, "psnr_y": psnr + 1, "ssim": 0.8, "lpips": lpips},
            "baseline": {"psnr": 20.0, "psnr_y": 21.0, "ssim": 0.5,
                         "lpips": None if lpips is None else 0.5},
            "n_images": 3, "degrade": "lesson", "eval_size": 64, "metric_notes": "n"}


def test_compare_puts_before_and_after_side_by_side():
    table = compare(_result(25.0, 0.30), _result(24.5, 0.20))
    psnr, lpips = table["metrics"]["psnr"], table["metrics"]["lpips"]
    assert psnr["change"] == pytest.approx(-0.5) and psnr["better"] is False
    assert lpips["change"] == pytest.approx(-0.1) and lpips["better"] is True  # lower is better
    assert psnr["input"] == 20.0
    md = report_markdown(table)
    assert "| psnr (higher is better) | 20.0000 | 25.0000 | 24.5000 | -0.5000 |" in md
    assert "| lpips (lower is better) | 0.5000 | 0.3000 | 0.2000 | -0.1000 |" in md
    assert "n/a" not in md


def test_a_metric_without_values_is_na_not_zero():
    table = compare(_result(25.0, None), _result(26.0, None))
    assert table["metrics"]["lpips"] == {"input": None, "before_gan": None, "after_gan": None,
                                         "change": None, "better": None}
    assert table["metrics"]["psnr"]["better"] is True
    md = report_markdown(table)
    assert "| lpips (lower is better) | n/a | n/a | n/a | n/a |" in md
    assert "n/a: not computed (LPIPS needs ImageNet AlexNet weights" in md


def test_evaluate_run_without_lpips_matches_the_chain(chain, no_lpips_weights, tmp_path,
                                                     strict_json):
    hr, out, table = chain
    result = evaluate_run(out / "generator", hr, 32, tmp_path / "eval", "cpu", lpips=False)
    assert result["model"]["lpips"] is None and result["baseline"]["lpips"] is None
    assert result["n_images"] == 24 and result["eval_size"] == 32
    assert result["model"]["psnr"] == pytest.approx(table["metrics"]["psnr"]["before_gan"])
    assert strict_json(tmp_path / "eval" / "metrics.json")["model"] == result["model"]


def test_compare_runs_without_lpips(chain, no_lpips_weights, tmp_path, strict_json):
    hr, out, table = chain
    cfg = CompareConfig(before=out / "generator", after=out / "gan", hr=hr, lpips=False,
                        device="cpu", out=tmp_path / "cmp")
    ours = compare_runs(cfg)
    for m in ("psnr", "psnr_y", "ssim"):
        assert ours["metrics"][m]["after_gan"] == pytest.approx(table["metrics"][m]["after_gan"])
    assert ours["eval_size"] == 32  # the --after run's training size
    assert strict_json(tmp_path / "cmp" / "metrics.json")["metrics"]["lpips"]["change"] is None
    assert "| lpips (lower is better) | n/a |" in (tmp_path / "cmp" / "report.md").read_text()


def test_compare_runs_asks_for_no_lpips_when_there_are_no_weights(chain, no_lpips_weights,
                                                                 tmp_path):
    hr, out, _ = chain
    cfg = CompareConfig(before=out / "generator", after=out / "gan", hr=hr, device="cpu",
                        out=tmp_path / "cmp")
    with pytest.raises(ValueError, match="--no-lpips"):
        compare_runs(cfg)
    assert not (tmp_path / "cmp").exists()  # refused before any scoring


def test_compare_runs_names_a_folder_without_a_model(chain, tmp_path):
    hr, out, _ = chain
    with pytest.raises(ValueError, match=str(tmp_path)):
        compare_runs(CompareConfig(before=tmp_path, after=out / "gan", hr=hr, lpips=False,
                                   device="cpu"))
