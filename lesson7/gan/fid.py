"""Fréchet distance between two sets of features, and "classifier-FID" for generators.

Scope: the metric only. FID (Heusel et al. 2017, arXiv:1706.08500) fits a Gaussian to the features
of real and of generated images and reports
    ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2)).
The usual features are Inception-v3's pool3; offline we use a classifier the project trains itself
(for MNIST, the lesson ResNet's penultimate activations: the input of its last layer). The value
depends on the feature network and on the sample count (it is biased upwards for small n), so it
is always reported with `fid_real_vs_real`: the distance between two disjoint real samples of the
same size, the floor a perfect generator would reach.
The matrix square root uses eigendecompositions of symmetric PSD matrices:
Tr((S_r S_g)^(1/2)) = sum sqrt(eig(A S_g A)), A = S_r^(1/2); it is real by construction, unlike
`scipy.linalg.sqrtm`, which can return a complex result for near-singular covariances.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lesson7.data.tensor_batches import TensorBatches

FeatureFn = Callable[[Tensor], Tensor]


def feature_stats(features: Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D) of (N, D) features, in float64."""
    f = features.detach().cpu().double().numpy() if isinstance(features, Tensor) else features
    f = np.asarray(f, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"features must be (N, D) with N >= 2, got shape {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


def _sqrt_psd(m: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh((m + m.T) / 2)
    return (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                     sigma2: np.ndarray) -> float:
    """Fréchet (2-Wasserstein) distance between N(mu1, sigma1) and N(mu2, sigma2)."""
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f"statistics differ in shape: {mu1.shape} vs {mu2.shape}, "
                         f"{sigma1.shape} vs {sigma2.shape}")
    a = _sqrt_psd(sigma1)
    cross = a @ sigma2 @ a                                    # PSD, same spectrum as S1 S2
    tr_covmean = np.sqrt(np.clip(np.linalg.eigvalsh((cross + cross.T) / 2), 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean)


def fid_from_features(feats1: Tensor | np.ndarray, feats2: Tensor | np.ndarray) -> float:
    """FID between two (N, D) feature sets."""
    return frechet_distance(*feature_stats(feats1), *feature_stats(feats2))


@contextmanager
def _capture_input(module: nn.Module) -> Iterator[list[Tensor]]:
    store: list[Tensor] = []
    handle = module.register_forward_pre_hook(lambda m, inp: store.append(inp[0].detach()))
    try:
        yield store
    finally:
        handle.remove()


def last_layer(model: nn.Module) -> nn.Module:
    """The classifier's last Linear or Conv layer; its input is the penultimate activation."""
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not layers:
        raise ValueError(f"{type(model).__name__} has no Linear/Conv2d layer to take features from")
    return layers[-1]


class ClassifierFeatures:
    """Penultimate activations of a trained classifier, as (N, D) features.

    Images come in the generator's range [-1, 1]; they are mapped to [0, 1], resized to the
    classifier's input `size` and normalised with its `mean`/`std`, as at its training.
    """

    def __init__(self, model: nn.Module, size: int | None = None,
                 mean: Iterable[float] | None = None, std: Iterable[float] | None = None,
                 input_range: tuple[float, float] = (-1.0, 1.0)) -> None:
        self.model = model.eval()
        self.layer = last_layer(model)
        self.size = size
        self.mean = None if mean is None else torch.tensor(list(mean)).view(1, -1, 1, 1)
        self.std = None if std is None else torch.tensor(list(std)).view(1, -1, 1, 1)
        self.input_range = input_range

    @torch.no_grad()
    def __call__(self, images: Tensor) -> Tensor:  # images: (B, C, H, W) in input_range
        device = next(self.model.parameters()).device
        lo, hi = self.input_range
        x = ((images.float() - lo) / (hi - lo)).to(device)               # [0, 1]
        if self.size is not None and x.shape[-1] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear",
                              antialias=True, align_corners=False)
        if self.mean is not None and self.std is not None:
            x = (x - self.mean.to(device)) / self.std.to(device)
        with _capture_input(self.layer) as store:
            self.model(x)
        return store[0].flatten(1).cpu()                                 # (B, D)


def batched_features(feature_fn: FeatureFn, images: Iterable[Tensor]) -> Tensor:
    """Concatenate `feature_fn` over an iterable of image batches."""
    return torch.cat([feature_fn(b) for b in images])


def classifier_fid(feature_fn: FeatureFn, fake: Iterable[Tensor], real: Iterable[Tensor],
                   real_ref: Iterable[Tensor]) -> dict[str, float | int]:
    """{"fid", "fid_real_vs_real", "n_samples"}: fakes vs `real`, and `real_ref` vs `real`.

    `real` and `real_ref` must be disjoint real samples; all three sets are cut to the same size.
    """
    f_fake = batched_features(feature_fn, fake)
    f_real = batched_features(feature_fn, real)
    f_ref = batched_features(feature_fn, real_ref)
    n = min(len(f_fake), len(f_real), len(f_ref))
    return {"fid": fid_from_features(f_fake[:n], f_real[:n]),
            "fid_real_vs_real": fid_from_features(f_ref[:n], f_real[:n]),
            "n_samples": n}


def fit_classifier(model: nn.Module, images: Tensor, labels: Tensor, epochs: int = 1,
                   size: int = 28, bs: int = 128, lr: float = 3e-3, seed: int = 0,
                   device: str = "auto") -> float:
    """Train the FID classifier with the preprocessing `ClassifierFeatures` applies.

    images: (N, C, H, W) in [-1, 1]; they are mapped to [0, 1], resized to `size` and normalised
    by their own mean/std (pass the same statistics of real images to ClassifierFeatures).
    Returns the accuracy on a held-out 10%.
    """
    from lesson7.train.learner import Learner

    x = (images.float() + 1) / 2
    if x.shape[-1] != size:
        x = torch.cat([F.interpolate(c, size=(size, size), mode="bilinear", antialias=True,
                                     align_corners=False) for c in x.split(4096)])
    x = (x - x.mean()) / x.std()
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(x), generator=g)
    n_valid = max(len(x) // 10, 1)
    valid, train = order[:n_valid], order[n_valid:]

    class _Data:
        train_dl = TensorBatches(x[train], labels[train], bs=bs, seed=seed)
        valid_dl = TensorBatches(x[valid], labels[valid], bs=512, seed=seed, shuffle=False)

    learn = Learner(model, _Data(), F.cross_entropy, device=device, progress=False,
                    mixed_precision=False, path=".")
    learn.recorder.printer = None
    learn.fit_one_cycle(epochs, lr)
    preds, targs = learn.get_preds()
    model.eval().cpu()
    return float((preds.argmax(1) == targs).float().mean())
