"""PSNR / PSNR-Y / SSIM against independent implementations and known values; LPIPS."""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.ndimage import gaussian_filter

from lesson7.quality import LPIPS, psnr, psnr_y, rgb_to_y, shave, ssim, ssim_y

SHARED = Path(os.environ.get("LESSON7_SHARED",
                            Path(__file__).resolve().parents[2] / ".." / "shared"))
pytestmark = pytest.mark.usefixtures("one_thread")


def _pair(seed=0, shape=(3, 40, 48)):
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(shape, generator=g)
    b = (a + 0.05 * torch.randn(shape, generator=g)).clamp(0, 1)
    return a, b


def test_psnr_known_value():
    a = torch.zeros(3, 8, 8)
    b = a + 0.1
    assert psnr(b, a).item() == pytest.approx(20.0)  # 10*log10(1/0.01)
    assert psnr(a, a).item() > 100


def test_psnr_batch_is_per_image():
    a, b = _pair()
    both = psnr(torch.stack([b, a]), torch.stack([a, a]))
    assert both.shape == (2,)
    assert both[0].item() == pytest.approx(psnr(b, a).item())


def test_psnr_y_matches_matlab_formula_and_shaves():
    a, b = _pair()
    ya = 16 + 65.481 * a[0] + 128.553 * a[1] + 24.966 * a[2]  # MATLAB rgb2ycbcr on [0,1] input
    yb = 16 + 65.481 * b[0] + 128.553 * b[1] + 24.966 * b[2]
    mse = ((ya - yb)[4:-4, 4:-4].double() ** 2).mean()
    expected = 10 * math.log10(255**2 / mse.item())
    assert psnr_y(b, a, 4).item() == pytest.approx(expected, abs=1e-6)
    assert rgb_to_y(a).shape == (1, 1, 40, 48)


def test_shave_rejects_too_small():
    with pytest.raises(ValueError, match="cannot shave"):
        shave(torch.zeros(1, 1, 8, 8), 4)


def _ssim_reference(x: np.ndarray, y: np.ndarray) -> float:
    """Wang et al. 2004 with scipy's Gaussian filter (truncate so the window is 11x11), 'valid'."""
    c1, c2 = 0.01**2, 0.03**2

    def f(im):
        return gaussian_filter(im, 1.5, truncate=3.5)[5:-5, 5:-5]

    mx, my = f(x), f(y)
    vx, vy, cxy = f(x * x) - mx**2, f(y * y) - my**2, f(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return float(s.mean())


def test_ssim_matches_scipy_reference():
    a, b = _pair(1, (1, 50, 60))
    ref = _ssim_reference(b[0].double().numpy(), a[0].double().numpy())
    assert ssim(b, a).item() == pytest.approx(ref, abs=1e-9)
    assert ssim(a, a).item() == pytest.approx(1.0)


def test_ssim_matches_skimage():
    metrics = pytest.importorskip("skimage.metrics")
    a, b = _pair(2)
    x, y = a.permute(1, 2, 0).double().numpy(), b.permute(1, 2, 0).double().numpy()
    ref = metrics.structural_similarity(y, x, channel_axis=2, gaussian_weights=True, sigma=1.5,
                                        use_sample_covariance=False, data_range=1.0)
    assert ssim(b, a).item() == pytest.approx(ref, abs=1e-6)
    ref_psnr = metrics.peak_signal_noise_ratio(x, y, data_range=1.0)
    assert psnr(b, a).item() == pytest.approx(ref_psnr, abs=1e-9)


def test_ssim_y_orders_degradations():
    a, _ = _pair(3)
    mild = (a + 0.02 * torch.randn_like(a)).clamp(0, 1)
    strong = (a + 0.2 * torch.randn_like(a)).clamp(0, 1)
    assert ssim_y(mild, a).item() > ssim_y(strong, a).item()


def test_shape_mismatch_is_a_value_error():
    with pytest.raises(ValueError, match="differ in shape"):
        psnr(torch.zeros(3, 8, 8), torch.zeros(3, 8, 9))


def _shared_lpips(net):
    name = {"alex": "alexnet", "vgg": "vgg16"}[net]
    path = SHARED / "weights" / f"{name}_features.safetensors"
    if not path.is_file():
        pytest.skip("../shared/weights absent")
    return LPIPS(net, trunk_weights=path)


@pytest.mark.realdata
def test_lpips_orders_jpeg_qualities_on_set5():
    set5 = SHARED / "datasets" / "set5" / "baby.png"
    if not set5.is_file():
        pytest.skip("Set5 absent")
    metric = _shared_lpips("alex")
    img = Image.open(set5).convert("RGB").crop((0, 0, 128, 128))

    def t(im):
        return torch.from_numpy(np.array(im)).permute(2, 0, 1).float() / 255

    scores = []
    for q in (90, 30, 10):
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=q)
        scores.append(metric(t(Image.open(buf)), t(img)).item())
    assert scores[0] < scores[1] < scores[2]
    assert metric(t(img), t(img)).item() == pytest.approx(0.0, abs=1e-6)
    # the heads ship with the package: a trained trunk spreads the scores (a random one gives ~0.01)
    assert scores[2] > 0.1
