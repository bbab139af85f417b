"""`lesson7 export`: a trained restorer as an ONNX model with dynamic batch, height and width."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lesson7.configs.flags import check_at_least, check_positive, flag

SHIPPED = "shipped"
"""The MODEL name of the x4 restorer that ships inside the package."""
SHIPPED_X1 = "shipped-x1"
"""The MODEL name of the same-size restorer that ships inside the package."""


@dataclass(kw_only=True)
class ExportConfig:
    """Export a trained restorer to ONNX, checked against PyTorch.

    The ONNX model takes float32 (N, C, H, W) images normalised as in training, (x - mean) / std
    with x in [0, 1], at any N, H and W, and returns (N, C_out, H*u, W*u) in the same normalised
    units (u = the model's own upscale; the lesson's U-Net, u = 1, wants its input bicubic-
    upsampled first). mean, std, u and the whole model config are in the file's metadata_props.
    The export is checked with onnxruntime on a random batch of another (odd) size; a larger
    difference than --tolerance is an error and writes nothing.
    """

    model: str = flag(positional=True, metavar="RUN|shipped|shipped-x1")
    """Run folder, model.safetensors, or "shipped" / "shipped-x1" for the x4 / same-size
    restorer inside the package."""
    onnx: Path = flag(metavar="OUT.onnx")
    """Where to write the ONNX model (atomically)."""
    opset: int = flag(17)
    """ONNX opset version (17 to 20)."""
    export_size: tuple[int, int] = flag((64, 64), sep=",", metavar="H,W")
    """Size of the example input traced for the export (H, W are dynamic in the result)."""
    check_size: tuple[int, int] = flag((61, 83), sep=",", metavar="H,W")
    """Size of the random batch of 2 the ONNX output is checked on; give one unlike --export-size."""
    tolerance: float = flag(1e-3)
    """Largest accepted |ONNX - PyTorch| on the normalised output (1e-3 ~ 0.06 of a 0-255 level)."""
    check: bool = flag(True)
    """Check the export with onnxruntime (--no-check: export without onnxruntime installed)."""

    def __post_init__(self) -> None:
        self.model, self.onnx = str(self.model), Path(self.onnx)
        if self.onnx.suffix != ".onnx":
            raise ValueError(f"--onnx must end in .onnx, got {str(self.onnx)!r}")
        if not 17 <= self.opset <= 20:
            raise ValueError(f"--opset must be between 17 and 20, got {self.opset}")
        self.export_size, self.check_size = tuple(self.export_size), tuple(self.check_size)
        for name, size in (("--export-size", self.export_size), ("--check-size", self.check_size)):
            if len(size) != 2:
                raise ValueError(f"{name} takes H,W, got {size}")
        check_at_least(16, export_size=min(self.export_size), check_size=min(self.check_size))
        if self.check and self.check_size == self.export_size:
            raise ValueError(f"--check-size must differ from --export-size ({self.export_size}): "
                             "the check is there to prove that height and width are dynamic")
        check_positive(tolerance=self.tolerance)
