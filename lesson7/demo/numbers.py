"""Demo stage `numbers`: the lesson's 2-layer GRU (Model5) on human numbers, and what it predicts.

`lesson7-human-numbers.ipynb`'s recipe unchanged (10 epochs one-cycle at 1e-2); the text
gallery shows validation sequences with the model's next-word predictions.
"""

from __future__ import annotations

import torch

from lesson7.demo.context import StageContext, one_thread
from lesson7.demo.lesson_figures import HUMAN_NUMBERS_GRU_ACCURACY, NOTEBOOKS
from lesson7.demo.stage_report import StageReport

__all__ = ["stage_numbers"]


@torch.no_grad()
def sample_predictions(cfg, n_rows: int = 4, n_words: int = 12) -> list[str]:
    """Validation text with the next word the model predicts after each word."""
    from lesson7.models.rnn import human_numbers_model
    from lesson7.text.lm_loader import human_numbers_databunch
    from lesson7.text.train import RECIPES
    from lesson7.text.vocab import Vocab
    from lesson7.train.checkpoint import load_checkpoint, read_metadata

    ckpt = cfg.out / "model.safetensors"
    vocab = Vocab(read_metadata(ckpt)["vocab"])
    model = human_numbers_model(cfg.model, len(vocab))
    load_checkpoint(ckpt, model)
    model.eval()
    data = human_numbers_databunch(cfg.data_dir, bs=cfg.bs, bptt=RECIPES[cfg.model].bptt,
                                   seed=cfg.seed, split=cfg.split)
    if hasattr(model, "reset"):
        model.reset()
    x, y = data.one_batch(valid=True)                     # (B, T) token ids
    pred = model(x).argmax(-1)                            # (B, T)
    lines = []
    for r in range(min(n_rows, len(x))):
        words, guess, truth = (vocab.textify(t[:n_words].tolist()).split(" ")
                               for t in (x[r], pred[r], y[r]))
        ok = sum(g == t for g, t in zip(guess, truth, strict=True))
        shown = " ".join(g if g == t else g.upper() for g, t in zip(guess, truth, strict=True))
        lines += [f"text:       {' '.join(words)} …",
                  f"next word:  {' '.join(truth)}",
                  f"predicted:  {shown}"
                  f"   ({ok}/{len(truth)} right; wrong guesses in capitals)", ""]
    return lines[:-1]


def stage_numbers(ctx: StageContext) -> StageReport:
    from lesson7.configs.numbers import NumbersConfig
    from lesson7.text.train import train_numbers

    cfg = NumbersConfig(model="5", out=ctx.dir, seed=ctx.seed, device=ctx.device,
                        epochs=4 if ctx.quick else None)
    epochs = cfg.epochs or 10
    rep = StageReport(
        title="Human numbers: the lesson's GRU language model", lesson=NOTEBOOKS["numbers"],
        command="lesson7 numbers --model 5" + (f" --epochs {epochs}" if cfg.epochs else ""),
        summary="A 2-layer GRU reads numbers written as words (\"eight thousand one hundred "
                "two , ...\") and predicts the next word; accuracy over every position.")
    with one_thread(ctx):  # a 64-unit GRU gains nothing from a second thread, and loses to contention
        with ctx.progress.step(f"training Model5 (2-layer GRU), {epochs} epochs"):
            m = train_numbers(cfg)
        with ctx.progress.step("sample predictions on validation text"):
            lines = sample_predictions(cfg)
    hist = m["history"]
    rep.figure("next-word accuracy (validation)", m["final"]["accuracy"], HUMAN_NUMBERS_GRU_ACCURACY,
               note=f"{epochs} epochs; the lesson's runs spread 0.76-0.81 (final), so compare ranges"
                    + (" (quick mode: fewer epochs than the lesson's 10)" if cfg.epochs else ""))
    epochs_x = [h["epoch"] + 1 for h in hist]
    rep.curve("loss", "epoch", epochs_x, {"train": [h["train_loss"] for h in hist],
                                          "valid": [h["valid_loss"] for h in hist]})
    rep.curve("accuracy", "epoch", epochs_x, {"valid": [h["accuracy"] for h in hist]})
    rep.text("Sample predictions (validation: numbers 8,001 to 9,999, never trained on)", lines)
    return rep
