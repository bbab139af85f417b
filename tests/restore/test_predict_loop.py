"""The per-file loop of `restore predict` and `colorize`: skips, declines, failures, counts."""

from pathlib import Path

from lesson7.restore.predict_loop import Declined, predict_each


def test_each_outcome_is_counted_and_the_loop_goes_on(tmp_path, capsys):
    names = ["done", "ok", "bad", "huge", "declined", "ok2"]
    plan = [(tmp_path / f"{n}.jpg", tmp_path / "out" / f"{n}.png") for n in names]
    (tmp_path / "out").mkdir()
    plan[0][1].write_bytes(b"already there")
    calls = []

    def predict_file(src: Path, dest: Path) -> tuple[int, int]:
        calls.append(src.stem)
        if src.stem == "bad":
            raise ValueError("cannot decode")
        if src.stem == "huge":
            raise MemoryError
        if src.stem == "declined":
            raise Declined("left alone")
        return 3, 2

    counts = predict_each(plan, predict_file, desc="t", overwrite=False, out_of_memory="oom hint")
    assert calls == names[1:]                     # the done output is never redone
    assert (counts.done, counts.skipped, counts.declined) == (2, 1, 1)
    assert counts.failures == [(plan[2][0], "cannot decode"), (plan[3][0], "oom hint")]
    out = capsys.readouterr().out
    assert "already there, skipped" in out and "(3x2)" in out and "declined.jpg: left alone" in out
    counts.print_failures()
    assert capsys.readouterr().err.splitlines() == [f"FAILED {plan[2][0]}: cannot decode",
                                                   f"FAILED {plan[3][0]}: oom hint"]


def test_overwrite_redoes_an_output_already_there(tmp_path):
    plan = [(tmp_path / "a.jpg", tmp_path / "a.png")]
    plan[0][1].write_bytes(b"old")
    counts = predict_each(plan, lambda s, d: (1, 1), desc="t", overwrite=True, out_of_memory="")
    assert (counts.done, counts.skipped) == (1, 0)
