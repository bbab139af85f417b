"""lesson7.data: image items, splits, labels, batch transforms, loaders and the dataset registry.

See ``docs/architecture.md`` (Data) for the contract; ``blocks.py`` for the fluent API.

The names below are imported on first use (PEP 562 module ``__getattr__``), each from the
module named in ``_SOURCES``: ``import lesson7.data.crappify`` must not pay for torch and
matplotlib, which ``blocks``, ``loaders``, ``transforms`` and ``show`` need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same names, eagerly, for type checkers and IDEs
    from lesson7.data.augment import (
        Brightness,
        Contrast,
        CropPad,
        Dihedral,
        FlipLR,
        Pad,
        RandomCrop,
        Rotate,
        SymmetricWarp,
        Transform,
        Zoom,
    )
    from lesson7.data.blocks import ImageList, ItemLists, LabelLists
    from lesson7.data.dataset import ImageDataset
    from lesson7.data.datasets import (
        REGISTRY,
        DatasetSpec,
        default_data_dir,
        download_file,
        extract_archive,
        register_dataset,
        resolve_dataset,
        sha256_file,
    )
    from lesson7.data.images import (
        IMAGE_EXTENSIONS,
        ImageDecodeError,
        decode_stack,
        open_image,
        open_pil_image,
        read_image_array,
        resize_to_cover,
    )
    from lesson7.data.items import get_image_files
    from lesson7.data.loaders import DataBunch, InMemoryLoader, StreamingLoader, shard_batches
    from lesson7.data.resize import cover_crop
    from lesson7.data.show import show_batch
    from lesson7.data.stats import IMAGENET_MEAN, IMAGENET_STD, imagenet_stats
    from lesson7.data.tensor_batches import TensorBatches
    from lesson7.data.transforms import (
        BatchTransforms,
        brightness,
        contrast,
        crop_pad,
        dihedral,
        flip_lr,
        get_transforms,
        rand_crop,
        rand_pad,
        rand_zoom,
        rotate,
        symmetric_warp,
    )

_SOURCES: dict[str, tuple[str, ...]] = {
    "lesson7.data.blocks": ("ImageList", "ItemLists", "LabelLists"),
    "lesson7.data.dataset": ("ImageDataset",),
    "lesson7.data.loaders": ("DataBunch", "InMemoryLoader", "StreamingLoader", "shard_batches"),
    "lesson7.data.stats": ("IMAGENET_MEAN", "IMAGENET_STD", "imagenet_stats"),
    "lesson7.data.tensor_batches": ("TensorBatches",),
    "lesson7.data.resize": ("cover_crop",),
    "lesson7.data.images": ("IMAGE_EXTENSIONS", "ImageDecodeError", "open_image",
                            "open_pil_image", "read_image_array", "resize_to_cover",
                            "decode_stack"),
    "lesson7.data.items": ("get_image_files",),
    "lesson7.data.augment": (
        "Transform", "CropPad", "Pad", "RandomCrop", "FlipLR", "Dihedral", "Rotate", "Zoom",
        "SymmetricWarp", "Brightness", "Contrast"),
    "lesson7.data.transforms": (
        "BatchTransforms", "crop_pad", "rand_crop", "rand_pad", "flip_lr", "dihedral", "rotate",
        "rand_zoom", "symmetric_warp", "brightness", "contrast", "get_transforms"),
    "lesson7.data.datasets": ("REGISTRY", "DatasetSpec", "register_dataset", "resolve_dataset",
                              "default_data_dir", "download_file", "extract_archive",
                              "sha256_file"),
    "lesson7.data.show": ("show_batch",),
}
_MODULE_OF = {name: module for module, names in _SOURCES.items() for name in names}

__all__ = [
    # data block API
    "ImageList", "ItemLists", "LabelLists", "DataBunch", "ImageDataset",
    "InMemoryLoader", "StreamingLoader", "shard_batches", "TensorBatches", "cover_crop",
    "IMAGENET_MEAN", "IMAGENET_STD", "imagenet_stats",
    # images and items
    "IMAGE_EXTENSIONS", "ImageDecodeError", "open_image", "open_pil_image", "read_image_array",
    "resize_to_cover", "decode_stack", "get_image_files",
    # transforms
    "Transform", "BatchTransforms", "CropPad", "Pad", "RandomCrop", "FlipLR", "Dihedral",
    "Rotate", "Zoom", "SymmetricWarp", "Brightness", "Contrast",
    "crop_pad", "rand_crop", "rand_pad", "flip_lr", "dihedral", "rotate", "rand_zoom",
    "symmetric_warp", "brightness", "contrast", "get_transforms",
    # datasets
    "REGISTRY", "DatasetSpec", "register_dataset", "resolve_dataset", "default_data_dir",
    "download_file", "extract_archive", "sha256_file",
    # display
    "show_batch",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first access, then cache it here."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
