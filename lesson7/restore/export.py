"""A trained restorer as an ONNX model, checked against PyTorch, and run back with onnxruntime.

The ONNX convention (also written into the file's `metadata_props`, keys `lesson7.*`):

    input   "image"     float32 (N, C, H, W), any N, H, W: RGB (or grey) in [0, 1], normalised
                        per channel as (x - mean) / std with the model's `mean`, `std`
                        (ImageNet statistics unless the run says otherwise)
    output  "restored"  float32 (N, C_out, H*u, W*u) in the same normalised units:
                        image = clip(out * std + mean, 0, 1)

u is `upscale`: an `SRUnet` enlarges its input itself (u = 4 for the x4 restorer); the lesson's
`DynamicUnet` keeps the size (u = 1) and wants its input bicubic-upsampled by `scale` first, as
`Restorer.restore` does. Large images go through in tiles exactly as in PyTorch
(`load_onnx_restorer` gives a `Restorer` whose model is the onnxruntime session).

We use the TorchScript exporter (`torch.onnx.export(dynamo=False)`): it needs only `onnx`, and
the U-Net's shape-dependent branches are written to trace at every size (`unet._resize_needed`,
`efficientnet.Conv2dSame`). Weight and spectral norms are folded into plain weights first (the
exporter has no `vdot`, and inference needs only their product). The check runs the original
PyTorch model and the ONNX model on one random batch of another, odd size.
Refs: ONNX IR spec (metadata_props); onnxruntime `InferenceSession`, `SessionOptions`.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from lesson7 import __version__
from lesson7.configs.export import SHIPPED, SHIPPED_X1, ExportConfig
from lesson7.files import atomic_path
from lesson7.restore.restorer import Restorer, UnetConfig, build_unet

__all__ = ["MissingExportPackage", "export_onnx", "fold_parametrizations", "OnnxRuntimeModel",
           "load_onnx_restorer", "resolve_model_name", "INPUT_NAME", "OUTPUT_NAME"]

INPUT_NAME, OUTPUT_NAME = "image", "restored"
_INSTALL = "pip install 'lesson7[export]'"


class MissingExportPackage(ModuleNotFoundError):
    """`onnx` or `onnxruntime` (the `export` extra) is not installed."""


def _require(module: str, package: str, why: str) -> Any:
    try:
        return __import__(module)
    except ImportError as e:
        raise MissingExportPackage(f"{why} needs the package {package!r}, which is not installed: "
                                   f"{_INSTALL}", name=module) from e


def resolve_model_name(name: str) -> Path | str:
    """A run folder or checkpoint, or a shipped model's file for "shipped" / "shipped-x1"."""
    if name not in (SHIPPED, SHIPPED_X1):
        return name
    try:
        from lesson7.restore.shipped import shipped_model_path
    except ModuleNotFoundError as e:
        if e.name != "lesson7.restore.shipped":
            raise
        raise ValueError("this install has no shipped restorer (lesson7/restore/shipped.py); "
                         "give a run folder instead") from None
    return shipped_model_path(1 if name == SHIPPED_X1 else None)


def fold_parametrizations(model: nn.Module) -> nn.Module:
    """`model` with every parametrization (weight norm, spectral norm) replaced by the plain
    tensor it computes now, in place. Call it in eval mode (spectral norm's power iteration runs
    only in training), and never on a `copy.deepcopy` of a model still in use: the copy shares
    the parametrized classes, whose properties this deletes."""
    for module in list(model.modules()):
        if parametrize.is_parametrized(module):
            for name in list(module.parametrizations):
                parametrize.remove_parametrizations(module, name, leave_parametrized=True)
    return model


def _metadata(cfg: UnetConfig, source: str, max_abs_diff: float | None) -> dict[str, str]:
    """The `metadata_props` of the ONNX file: the input/output convention and the model config."""
    c_out = cfg.in_channels if cfg.sr_unet else cfg.n_out
    return {
        "lesson7.version": __version__,
        "lesson7.source": source,
        "lesson7.input": f"{INPUT_NAME}: float32 (N, {cfg.in_channels}, H, W), pixels in [0, 1] "
                         "normalised per channel as (x - mean) / std",
        "lesson7.output": f"{OUTPUT_NAME}: float32 (N, {c_out}, H*upscale, W*upscale), normalised "
                          "like the input: image = clip(out * std + mean, 0, 1)",
        "lesson7.mean": json.dumps(cfg.mean[:cfg.in_channels]),
        "lesson7.std": json.dumps(cfg.std[:cfg.in_channels]),
        "lesson7.upscale": str(cfg.upscale),
        "lesson7.scale": str(cfg.scale),  # bicubic pre-upsampling of a u = 1 model's input
        "lesson7.max_abs_diff": "unchecked" if max_abs_diff is None else f"{max_abs_diff:.3g}",
        "lesson7.config": json.dumps(asdict(cfg)),
    }


def _random_batch(restorer: Restorer, size: tuple[int, int], n: int = 2) -> Tensor:
    """(n, C, H, W): uniform random pixels, normalised as the model's input."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, restorer.cfg.in_channels, *size, generator=g)
    return (x - restorer.mean.cpu()) / restorer.std.cpu()


def _session(model: bytes | str | os.PathLike, threads: int | None = None) -> Any:
    ort = _require("onnxruntime", "onnxruntime", "running an ONNX model")
    opts = ort.SessionOptions()
    if threads is not None:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    src = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(src, opts, providers=["CPUExecutionProvider"])


def _export(restorer: Restorer, size: tuple[int, int], opset: int) -> Any:
    """The restorer's model as an ONNX ModelProto, traced at `size` with dynamic N, H, W."""
    import onnx

    # A fresh model, not a deepcopy: a copy shares the parametrized classes with the original,
    # and removing a parametrization deletes the property from that class, breaking both.
    net = build_unet(restorer.cfg)
    net.load_state_dict(restorer.model.state_dict())
    net = fold_parametrizations(net.eval())
    example = _random_batch(restorer, size, n=1)
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        # The tracer warns about each Python int it sees; the branches that matter trace generally.
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (example,), buf, dynamo=False, opset_version=opset,
                          input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_axes={INPUT_NAME: {0: "batch", 2: "height", 3: "width"},
                                        OUTPUT_NAME: {0: "batch", 2: "out_height",
                                                      3: "out_width"}})
    return onnx.load_model_from_string(buf.getvalue())


def _check(proto: Any, restorer: Restorer, size: tuple[int, int]) -> float:
    """max |ONNX - PyTorch| on a random batch of 2 at `size`, run with onnxruntime."""
    x = _random_batch(restorer, size)                            # (2, C, h, w)
    with torch.no_grad():
        want = restorer.model(x).numpy()                         # (2, C_out, h*u, w*u)
    got = _session(proto.SerializeToString()).run(None, {INPUT_NAME: x.numpy()})[0]
    if got.shape != want.shape:
        raise ValueError(f"the ONNX model gives shape {got.shape} for a {tuple(x.shape)} input, "
                         f"PyTorch {want.shape}: its height and width are not dynamic")
    return float(np.abs(got - want).max())


def export_onnx(cfg: ExportConfig) -> dict[str, Any]:
    """Export `cfg.model` to `cfg.onnx`; returns what was done (path, sizes, max |difference|).

    Raises ValueError when the model cannot be loaded or the ONNX output differs from PyTorch's
    by more than `cfg.tolerance` (nothing is written then), MissingExportPackage without `onnx`
    (or without `onnxruntime` unless `cfg.check` is False).
    """
    onnx = _require("onnx", "onnx", "lesson7 export")
    if cfg.check:
        _require("onnxruntime", "onnxruntime", "checking the export (--no-check skips it)")
    source = resolve_model_name(cfg.model)
    restorer = Restorer.load(source, device="cpu")
    with atomic_path(cfg.onnx) as tmp:  # an unwritable OUT fails here, before the slow part
        proto = _export(restorer, cfg.export_size, cfg.opset)
        max_diff = _check(proto, restorer, cfg.check_size) if cfg.check else None
        if max_diff is not None and not max_diff <= cfg.tolerance:  # also catches NaN
            raise ValueError(f"the ONNX output differs from PyTorch's by up to {max_diff:.3g} on "
                             f"a batch of 2 at {cfg.check_size[0]}x{cfg.check_size[1]} px "
                             f"(> --tolerance {cfg.tolerance:g}); nothing written to {cfg.onnx}")
        props = _metadata(restorer.cfg, Path(source).name, max_diff)
        onnx.helper.set_model_props(proto, props)
        proto.doc_string = f"lesson7 restorer. {props['lesson7.input']}; {props['lesson7.output']}"
        onnx.checker.check_model(proto)
        tmp.write_bytes(proto.SerializeToString())
    return {"onnx": str(cfg.onnx), "source": str(source), "opset": cfg.opset,
            "export_size": cfg.export_size, "check_size": cfg.check_size if cfg.check else None,
            "max_abs_diff": max_diff, "upscale": restorer.cfg.upscale,
            "mb": round(cfg.onnx.stat().st_size / 2**20, 2)}


class OnnxRuntimeModel(nn.Module):
    """An ONNX restorer behind the `nn.Module` call PyTorch code expects: (N, C, H, W) tensor in,
    tensor out (CPU, float32, no gradients)."""

    def __init__(self, path: str | os.PathLike, threads: int | None = None) -> None:
        super().__init__()
        self.session = _session(path, threads)

    def forward(self, x: Tensor) -> Tensor:               # x: (N, C, H, W) normalised
        arr = x.detach().cpu().float().contiguous().numpy()
        return torch.from_numpy(self.session.run(None, {INPUT_NAME: arr})[0])


def load_onnx_restorer(path: str | os.PathLike, threads: int | None = None) -> Restorer:
    """A `Restorer` (tiles, normalisation, upscaling) that runs the ONNX model at `path` with
    onnxruntime on the CPU, `threads` intra-op threads (default: onnxruntime's)."""
    onnx = _require("onnx", "onnx", "reading an ONNX model's metadata")
    props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    if "lesson7.config" not in props:
        raise ValueError(f"{path} was not written by `lesson7 export` (no lesson7.config metadata)")
    cfg = UnetConfig.from_meta(json.loads(props["lesson7.config"]))
    return Restorer(OnnxRuntimeModel(path, threads), cfg, device="cpu")
