"""Weights lookup: $LESSON7_WEIGHTS folders in order, then the user data dir; nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lesson7.weights import find_weights, weights_dirs, where_to_put


@pytest.fixture
def homes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty user data dir and no $LESSON7_WEIGHTS."""
    monkeypatch.delenv("LESSON7_WEIGHTS", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return tmp_path


def put(folder: Path, name: str = "w.safetensors") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(b"w")
    return (folder / name).resolve()


def test_env_folders_are_searched_in_order_before_the_user_dir(homes, monkeypatch):
    a, b, user = homes / "a", homes / "b", homes / "xdg" / "lesson7" / "weights"
    monkeypatch.setenv("LESSON7_WEIGHTS", os.pathsep.join([str(a), "", str(b)]))
    assert weights_dirs() == [a, b, user]
    assert find_weights("w.safetensors") is None
    put(user)
    assert find_weights("w.safetensors") == (user / "w.safetensors").resolve()
    put(b)
    assert find_weights("w.safetensors") == (b / "w.safetensors").resolve()
    put(a)
    assert find_weights("w.safetensors") == (a / "w.safetensors").resolve()


def test_user_dir_defaults_to_local_share(homes, monkeypatch):
    monkeypatch.delenv("XDG_DATA_HOME")
    assert weights_dirs() == [Path.home() / ".local" / "share" / "lesson7" / "weights"]


def test_a_folder_is_not_a_weights_file(homes):
    (homes / "xdg" / "lesson7" / "weights" / "w.safetensors").mkdir(parents=True)
    assert find_weights("w.safetensors") is None


def test_hint_names_the_file_the_folder_and_the_variable(homes):
    hint = where_to_put("vgg16_features.safetensors")
    assert "vgg16_features.safetensors" in hint
    assert str(homes / "xdg" / "lesson7" / "weights") in hint
    assert "$LESSON7_WEIGHTS" in hint and "shared" not in hint


def test_importing_it_does_not_import_torch():
    code = "import sys, lesson7.weights; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------------------------
# The consumers: offline, LPIPS and the feature loss find trunk files through this rule alone.


@pytest.fixture
def offline(homes: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No torchvision weights (empty hub cache, no downloads) and an empty $LESSON7_WEIGHTS."""
    monkeypatch.setenv("TORCH_HOME", str(homes / "torch"))
    monkeypatch.setenv("LESSON7_OFFLINE", "1")
    monkeypatch.setenv("LESSON7_WEIGHTS", str(homes / "weights"))
    return homes / "weights"


def save_random_trunk(arch: str, folder: Path) -> Path:
    """A `<arch>_features.safetensors` of random weights, keyed like torchvision's `features.*`."""
    import torchvision
    from safetensors.torch import save_file

    cfg = {"vgg16": "D"}.get(arch)
    features = (torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs[cfg]) if cfg
                else torchvision.models.alexnet().features)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{arch}_features.safetensors"
    save_file({f"features.{k}": v.contiguous() for k, v in features.state_dict().items()}, path)
    return path


@pytest.mark.slow  # builds two full VGG16 classifiers (~4 s on a CPU)
def test_feature_loss_offline_names_the_file_and_the_variable_then_finds_it(offline):
    from lesson7.losses.perceptual import load_vgg_features
    from lesson7.models.encoders import PretrainedWeightsUnavailable

    with pytest.raises(PretrainedWeightsUnavailable,
                       match=r"vgg16_features\.safetensors in .*LESSON7_WEIGHTS") as e:
        load_vgg_features("vgg16_bn")
    assert "shared" not in str(e.value)
    path = save_random_trunk("vgg16", offline)
    with pytest.warns(UserWarning, match="plain VGG16 trunk"):
        features, arch = load_vgg_features("vgg16_bn")
    assert arch == "vgg16"
    from safetensors.torch import load_file

    assert features[0].weight.equal(load_file(path)["features.0.weight"])


def test_lpips_offline_names_the_file_and_the_variable_then_finds_it(offline):
    pytest.importorskip("lpips")
    from lesson7.models.encoders import PretrainedWeightsUnavailable
    from lesson7.quality.lpips_metric import LPIPS

    with pytest.raises(PretrainedWeightsUnavailable,
                       match=r"alexnet_features\.safetensors in .*LESSON7_WEIGHTS") as e:
        LPIPS("alex")
    assert "shared" not in str(e.value)
    path = save_random_trunk("alexnet", offline)
    from safetensors.torch import load_file

    metric = LPIPS("alex")
    assert metric.model.net.slice1[0].weight.equal(load_file(path)["features.0.weight"])
