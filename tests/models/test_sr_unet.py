"""SRUnet: the U-Net on the small (x4) or folded (x1) input, a residual on the input itself.

Random tiny encoders (no weights): what is checked is shapes, the exact identity/bicubic start,
the block folding's channel order and that every part learns.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lesson7.models.encoders import create_encoder
from lesson7.models.sr_unet import SRUnet, fold_blocks
from lesson7.restore.restorer import Restorer, UnetConfig, build_unet

pytestmark = pytest.mark.usefixtures("one_thread")


def _tiny_encoder(in_channels: int = 3) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, 8, 3, 2, 1), nn.ReLU(),
                         nn.Conv2d(8, 16, 3, 2, 1), nn.ReLU())


def test_fold_blocks_orders_channels_by_block_position_then_colour():
    x = torch.arange(2 * 3 * 4 * 6, dtype=torch.float32).view(2, 3, 4, 6)
    z = fold_blocks(x, 2)
    assert z.shape == (2, 12, 2, 3)
    # channel k*3 + c holds colour c of block position k = dy*2 + dx
    for dy in range(2):
        for dx in range(2):
            for c in range(3):
                assert torch.equal(z[:, (dy * 2 + dx) * 3 + c], x[:, c, dy::2, dx::2])
    # the same values as torch's pixel_unshuffle, whose order is colour major
    want = F.pixel_unshuffle(x, 2).unflatten(1, (3, 4)).transpose(1, 2).flatten(1, 2)
    assert torch.equal(z, want)


def test_fold_blocks_replicates_the_edge_to_a_multiple_of_d():
    x = torch.rand(1, 3, 5, 7)
    z = fold_blocks(x, 2)
    assert z.shape == (1, 12, 3, 4)
    # the padded last row/column repeats the image's last row/column
    assert torch.equal(z[:, 6:9, -1, :3], x[:, :, 4, 0:6:2])       # dy=1 below row 4 is row 4


@pytest.mark.parametrize("scale,unshuffle,size", [(4, 1, (9, 13)), (1, 2, (17, 23)),
                                                  (2, 2, (10, 7))])
def test_untrained_sr_unet_is_the_input_or_its_bicubic_upsampling(scale, unshuffle, size):
    torch.manual_seed(0)
    model = SRUnet(_tiny_encoder(3 * unshuffle ** 2), scale=scale, features=8, img_size=(32, 32),
                   unshuffle=unshuffle).eval()
    x = torch.randn(2, 3, *size)
    with torch.no_grad():
        y = model(x)
    assert y.shape == (2, 3, size[0] * scale, size[1] * scale)
    want = x if scale == 1 else F.interpolate(x, scale_factor=scale, mode="bicubic")
    assert torch.equal(y, want)


def test_every_part_of_a_same_size_sr_unet_gets_a_gradient():
    torch.manual_seed(0)
    model = SRUnet(_tiny_encoder(12), scale=1, features=8, img_size=(16, 16), unshuffle=2)
    nn.init.normal_(model.to_image.weight, std=0.1)  # else nothing behind it gets a gradient
    x = torch.randn(2, 3, 15, 18)
    model(x).square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert not missing, missing


def test_bad_sr_unet_settings_are_refused():
    with pytest.raises(ValueError, match="scale 1 needs unshuffle"):
        SRUnet(_tiny_encoder(), scale=1)
    with pytest.raises(ValueError, match="unshuffle must be a power of two"):
        SRUnet(_tiny_encoder(27), scale=1, unshuffle=3)
    with pytest.raises(ValueError, match="takes 3 channels, not a multiple of unshuffle"):
        SRUnet(_tiny_encoder(3), scale=1, unshuffle=2)


def test_encoder_depth_keeps_the_first_encoder_children_and_is_checked():
    cfg = UnetConfig(arch="efficientnet_lite0", upscale=1, unshuffle=2, encoder_depth=5, img_size=(32, 32),
                     y_range=None, features=16)
    model = build_unet(cfg)
    full = create_encoder("efficientnet_lite0", pretrained=False, in_channels=12)
    assert len(model.unet.encoder) == 5
    assert model.unet.encoder[0][1].in_channels == 12   # the stem conv reads the folded input
    assert [type(m) for m in model.unet.encoder] == [type(m) for m in list(full)[:5]]
    with pytest.raises(ValueError, match="encoder_depth 9 is outside 1..8"):
        build_unet(UnetConfig(arch="efficientnet_lite0", upscale=4, encoder_depth=9, y_range=None))


def test_same_size_restorer_saves_loads_and_keeps_the_size(tmp_path):
    cfg = UnetConfig(arch="efficientnet_lite0", upscale=1, unshuffle=2, encoder_depth=5, img_size=(32, 32),
                     y_range=None, features=16)
    torch.manual_seed(0)
    model = build_unet(cfg)
    nn.init.normal_(model.to_image.weight, std=0.05)
    Restorer(model, cfg).save(tmp_path / "model")
    loaded = Restorer.load(tmp_path / "model.safetensors")
    assert loaded.cfg.unshuffle == 2 and loaded.cfg.encoder_depth == 5 and loaded.default_scale == 1.0
    import numpy as np
    from PIL import Image

    img = Image.effect_noise((45, 31), 40).convert("RGB")
    for tile in (32, 512):  # in tiles (odd edges padded) and whole
        out = loaded.restore(img, tile=tile, overlap=8)
        assert out.size == img.size
        assert not np.array_equal(np.asarray(out), np.asarray(img))  # the residual is applied
