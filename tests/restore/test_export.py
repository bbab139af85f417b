"""`lesson7 export`: the ONNX model matches PyTorch at sizes other than the traced one (dynamic
batch, height and width), states its input/output convention, and bad input is one line, exit 2.

Three tiny models cover the architectures: an SRUnet (x4) on EfficientNet-Lite0 (TF "same"
padding, whose amount depends on the input size's parity), the same-size SRUnet (the input
folded 2 x 2 into channels, padded to even sizes, an encoder cut after stage 4) and the
lesson's DynamicUnet on resnet18 (self-attention, sigmoid y_range). Random encoders, so no weights are needed.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from lesson7.cli import main  # noqa: E402
from lesson7.configs.export import ExportConfig  # noqa: E402
from lesson7.restore import Restorer, UnetConfig, build_unet  # noqa: E402
from lesson7.restore.export import (  # noqa: E402
    INPUT_NAME,
    export_onnx,
    load_onnx_restorer,
)

pytestmark = pytest.mark.usefixtures("one_thread")

TOL = 1e-4  # on normalised outputs; we see ~1e-6 (lite0 SRUnet) and ~1e-5 (resnet18 U-Net)
MODELS = {
    "sr_x4_lite0": UnetConfig(arch="efficientnet_lite0", upscale=4, img_size=(32, 32),
                              y_range=None, scale=1.0, features=16),
    "sr_x1_lite0": UnetConfig(arch="efficientnet_lite0", upscale=1, unshuffle=2, encoder_depth=5,
                              img_size=(32, 32), y_range=None, scale=1.0, features=16),
    "unet_resnet18": UnetConfig(arch="resnet18", img_size=(32, 32), scale=1.0),
}


def _save(cfg: UnetConfig, path) -> Restorer:
    torch.manual_seed(0)
    model = build_unet(cfg)
    if cfg.sr_unet:  # the SRUnet's last conv starts at zero (pure bicubic): give it weights
        torch.nn.init.normal_(model.to_image.weight, std=0.05)
    restorer = Restorer(model, cfg)
    restorer.save(path / "model")
    return restorer


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """{name: (restorer, onnx path, export report)}, each model exported once at 64x64."""
    out = {}
    for name, cfg in MODELS.items():
        run = tmp_path_factory.mktemp(name)
        restorer = _save(cfg, run)
        report = export_onnx(ExportConfig(model=str(run), onnx=run / "model.onnx"))
        out[name] = (restorer, run / "model.onnx", report)
    return out


@pytest.mark.parametrize("name", MODELS)
def test_onnxruntime_matches_pytorch_at_other_sizes(exported, name):
    restorer, path, report = exported[name]
    assert report["max_abs_diff"] < TOL
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    u = restorer.cfg.upscale
    for n, h, w in [(1, 40, 56), (2, 77, 50)]:  # neither is the traced 64x64; odd sizes too
        x = torch.randn(n, 3, h, w, generator=torch.Generator().manual_seed(h))
        with torch.no_grad():
            want = restorer.model(x).numpy()
        got = session.run(None, {INPUT_NAME: x.numpy()})[0]
        assert got.shape == want.shape == (n, 3, h * u, w * u)
        assert np.abs(got - want).max() < TOL, (name, (n, h, w))


@pytest.mark.parametrize("name", MODELS)
def test_metadata_states_the_convention_and_restores_like_pytorch(exported, name):
    import onnx

    restorer, path, _ = exported[name]
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert json.loads(props["lesson7.mean"]) == pytest.approx([0.485, 0.456, 0.406])
    assert json.loads(props["lesson7.std"]) == pytest.approx([0.229, 0.224, 0.225])
    assert props["lesson7.upscale"] == str(restorer.cfg.upscale)
    assert "(x - mean) / std" in props["lesson7.input"]
    assert "out * std + mean" in props["lesson7.output"]
    # The same tiles, normalisation and upscaling around the onnxruntime session.
    img = Image.fromarray(np.random.default_rng(0).integers(0, 256, (45, 70, 3), dtype=np.uint8))
    ours = np.asarray(load_onnx_restorer(path, threads=1).restore(img, tile=32, overlap=8))
    ref = np.asarray(restorer.restore(img, tile=32, overlap=8))
    assert ours.shape == ref.shape
    assert np.abs(ours.astype(int) - ref.astype(int)).max() <= 1  # rounding to 8 bits


def test_cli_exports_a_run(tmp_path, capsys):
    _save(MODELS["sr_x4_lite0"], tmp_path)
    out = tmp_path / "out" / "restorer.onnx"
    assert main(["export", str(tmp_path), "--onnx", str(out), "--check-size", "33,47"]) == 0
    line = capsys.readouterr().out.strip()
    assert out.is_file() and "max |ONNX - PyTorch|" in line and "33x47" in line, line


def test_cli_exports_the_shipped_model(tmp_path, monkeypatch, capsys):
    shipped = pytest.importorskip("lesson7.restore.shipped")
    _save(MODELS["sr_x4_lite0"], tmp_path)
    # "shipped" is the packaged model; $LESSON7_SHIPPED_MODEL points at another one
    monkeypatch.setenv(shipped.SHIPPED_MODEL_ENV, str(tmp_path / "model.safetensors"))
    assert main(["export", "shipped", "--onnx", str(tmp_path / "shipped.onnx"), "--no-check"]) == 0
    assert "unchecked" in capsys.readouterr().out


def test_shipped_names_resolve_to_the_packaged_models(monkeypatch):
    from lesson7.restore.export import resolve_model_name

    monkeypatch.delenv("LESSON7_SHIPPED_MODEL", raising=False)
    assert resolve_model_name("shipped").name == "restorer_x4.safetensors"
    assert resolve_model_name("shipped-x1").name == "restorer_x1.safetensors"
    assert resolve_model_name("runs/x") == "runs/x"


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("lesson7 export: error: ")
    return err[0]


def test_missing_run_is_one_line(tmp_path, capsys):
    assert main(["export", str(tmp_path / "norun"), "--onnx", str(tmp_path / "m.onnx")]) == 2
    assert "no restore checkpoint" in _one_line_error(capsys)


def test_unwritable_output_is_one_line_and_fails_before_exporting(tmp_path, capsys):
    _save(MODELS["sr_x4_lite0"], tmp_path)
    (tmp_path / "file").write_text("not a folder")
    assert main(["export", str(tmp_path), "--onnx", str(tmp_path / "file" / "m.onnx")]) == 2
    _one_line_error(capsys)


def test_difference_above_tolerance_writes_nothing(tmp_path, capsys):
    _save(MODELS["sr_x4_lite0"], tmp_path)
    out = tmp_path / "m.onnx"
    assert main(["export", str(tmp_path), "--onnx", str(out), "--tolerance", "1e-12"]) == 2
    assert "--tolerance" in _one_line_error(capsys)
    assert not out.exists() and not list(tmp_path.glob(".m.onnx.*"))


def test_missing_onnxruntime_names_the_package_and_the_extra(tmp_path, monkeypatch, capsys):
    _save(MODELS["sr_x4_lite0"], tmp_path)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` now fails
    assert main(["export", str(tmp_path), "--onnx", str(tmp_path / "m.onnx")]) == 2
    line = _one_line_error(capsys)
    assert "'onnxruntime'" in line and "pip install 'lesson7[export]'" in line


@pytest.mark.parametrize("flags, named", [
    (["--onnx", "m.txt"], "--onnx"),
    (["--onnx", "m.onnx", "--check-size", "64,64"], "--check-size"),
    (["--onnx", "m.onnx", "--export-size", "8,64"], "--export-size"),
    (["--onnx", "m.onnx", "--opset", "11"], "--opset"),
    (["--onnx", "m.onnx", "--tolerance", "0"], "--tolerance"),
])
def test_bad_flags_exit_2_naming_the_flag(tmp_path, flags, named, capsys):
    with pytest.raises(SystemExit) as e:
        main(["export", str(tmp_path), *flags])
    assert e.value.code == 2
    assert named in capsys.readouterr().err
