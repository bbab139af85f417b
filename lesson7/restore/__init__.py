"""Image restoration with a trained U-Net: tiled prediction of any size, and evaluation."""

from lesson7.restore.evaluate import DEGRADES, degrade_for_eval, evaluate
from lesson7.restore.restorer import Restorer, UnetConfig, build_unet, resolve_checkpoint
from lesson7.restore.tiles import blend_ramp, predict_tiled, tile_starts

__all__ = ["DEGRADES", "degrade_for_eval", "evaluate", "Restorer", "UnetConfig", "build_unet",
           "resolve_checkpoint", "blend_ramp", "predict_tiled", "tile_starts"]
