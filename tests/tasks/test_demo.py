"""`lesson7 demo` runs offline from packaged data and writes a summary."""


import pytest
import torch

from lesson7.cli import main
from lesson7.demo import mnist_sample_path


def test_packaged_mnist_sample_exists_and_is_small():
    p = mnist_sample_path()
    assert p.exists() and 100_000 < p.stat().st_size < 1_000_000


@pytest.mark.parametrize("flag, value", [
    ("--device", "potato"), ("--only", "mnist potato"), ("--seed", "nan"),
])
def test_bad_flag_values_exit_2_naming_the_flag(tmp_path, flag, value, capsys):
    with pytest.raises(SystemExit) as e:
        main(["demo", flag, *value.split(), "--out", str(tmp_path / "demo")])
    assert e.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("lesson7 demo: error: ") and flag in last
    assert not (tmp_path / "demo").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_device_cuda_without_cuda_fails_before_any_stage(tmp_path, capsys):
    assert main(["demo", "--device", "cuda", "--out", str(tmp_path / "demo")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("lesson7 demo: error: ") and "--device cuda" in err
    assert not (tmp_path / "demo").exists()
