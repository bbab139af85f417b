"""lesson7.data: image items, splits, labels, batch transforms, loaders and the dataset registry.

See ``docs/architecture.md`` (Data) for the contract; ``blocks.py`` for the fluent API.
"""

from lesson7.data.blocks import ImageList, ItemLists, LabelLists
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
from lesson7.data.loaders import (
    DataBunch,
    ImageDataset,
    InMemoryLoader,
    StreamingLoader,
    imagenet_stats,
    shard_batches,
)
from lesson7.data.show import show_batch
from lesson7.data.transforms import (
    BatchTransforms,
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

__all__ = [
    # data block API
    "ImageList", "ItemLists", "LabelLists", "DataBunch", "ImageDataset",
    "InMemoryLoader", "StreamingLoader", "shard_batches", "imagenet_stats",
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
