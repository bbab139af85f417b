"""`run_nogan`: the whole NoGAN chain on generated scenes, offline and without LPIPS weights
(LPIPS is reported as n/a), and its stage-by-stage resume."""

import math
import re

import torch

from lesson7.nogan.chain import run_nogan
from lesson7.nogan.finetune import load_critic, load_generator

N_SCENES = 24


def test_every_stage_writes_its_output(chain, strict_json):
    _, out, _ = chain
    assert (out / "generator" / "model.safetensors").is_file()
    assert len(list((out / "image_gen").rglob("*.png"))) == N_SCENES  # one prediction per input
    assert (out / "critic" / "critic.safetensors").is_file()
    assert strict_json(out / "gan" / "metrics.json")["complete"] is True
    for stage in ("generator", "critic", "gan"):
        assert not (out / stage / "state").exists()  # finished runs leave no resume point
    assert strict_json(out / "config.json")["config"] == "NoGANConfig"


def test_the_gan_stage_changed_the_generator_and_the_critic(chain):
    _, out, _ = chain
    before, _, _ = load_generator(out / "generator")
    after, _, _ = load_generator(out / "gan")
    assert any(not torch.equal(a, b) for a, b in
               zip(before.state_dict().values(), after.state_dict().values(), strict=True))
    crit0, _ = load_critic(out / "critic")
    crit1, meta = load_critic(out / "gan")
    assert (meta["nf"], meta["n_blocks"]) == (16, 2)
    assert any(not torch.equal(a, b) for a, b in
               zip(crit0.state_dict().values(), crit1.state_dict().values(), strict=True))


def test_without_lpips_weights_the_report_says_na(chain, strict_json):
    hr, out, table = chain
    saved = strict_json(out / "metrics.json")
    assert saved["n_images"] == N_SCENES and saved["held_in"] is True
    assert saved["eval_hr"] == str(hr)
    assert saved["metrics"]["lpips"] == {"input": None, "before_gan": None, "after_gan": None,
                                         "change": None, "better": None}
    for m in ("psnr", "psnr_y", "ssim"):
        row = saved["metrics"][m]
        assert all(math.isfinite(row[k]) for k in ("input", "before_gan", "after_gan", "change"))
        assert row == table["metrics"][m]
    report = (out / "report.md").read_text()
    assert "| lpips (lower is better) | n/a | n/a | n/a | n/a |" in report
    assert "n/a: not computed" in report
    for name in ("before_gan", "after_gan"):  # each side's restore eval is kept
        assert strict_json(out / "eval" / name / "metrics.json")["model"]["lpips"] is None


def test_a_rerun_skips_every_finished_stage(chain, chain_config, no_lpips_weights, capsys):
    hr, out, table = chain
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.safetensors")}
    assert run_nogan(chain_config(hr, out)) == table
    skipped = re.findall(r"^\[\d/5\] ([\w ]+): skipped", capsys.readouterr().out, flags=re.M)
    assert skipped == ["generator", "predictions", "critic", "GAN", "eval before_gan",
                       "eval after_gan"]
    assert stamps == {p: p.stat().st_mtime_ns for p in out.rglob("*.safetensors")}


def test_a_missing_prediction_is_remade_and_nothing_else(chain, chain_config, no_lpips_weights,
                                                          capsys):
    hr, out, _ = chain
    victim = sorted((out / "image_gen").rglob("*.png"))[3]
    victim.unlink()                                      # as if interrupted while writing them
    critic_stamp = (out / "critic" / "critic.safetensors").stat().st_mtime_ns
    run_nogan(chain_config(hr, out))
    said = capsys.readouterr().out
    assert "[2/5] predictions: 1 written, 23 already there" in said
    assert victim.is_file()
    assert "[3/5] critic: skipped" in said
    assert (out / "critic" / "critic.safetensors").stat().st_mtime_ns == critic_stamp
