"""lesson7: fastai course-v3 Lesson 7 (ResNet, U-Net, GAN, RNN) as a small, tested PyTorch toolkit.

Subpackages: `data` (data-block API), `models` (layers, MNIST, U-Net, critics, RNNs), `train`
(Learner, callbacks), `losses`, `gan`, `text`, `quality`, `restore`, `colorize`, `tasks` (the CLI
pipelines).
See docs/architecture.md.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
