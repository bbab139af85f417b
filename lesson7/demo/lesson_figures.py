"""The lesson's recorded numbers that the demo shows beside its own.

Plain constants, copied from the fastai course-v3 Lesson 7 notebooks' saved outputs (the
HEAD run of 2019-01-25 unless noted); a notebook that records no comparable number has None.
"""

from __future__ import annotations

# lesson7-resnet-mnist.ipynb: the ResNet-ish model, fit_one_cycle(12, 0.05) on the 60,000 MNIST
# training digits, accuracy on the 10,000 test digits (0.9954 in the lecture's run).
MNIST_RESNET_ACCURACY = 0.995200

# lesson7-human-numbers.ipynb: Model5 (2-layer GRU), fit_one_cycle(10, 1e-2), final validation
# accuracy over every position (the lecture's run: 0.755460; peak 0.813920 at epoch 8).
HUMAN_NUMBERS_GRU_ACCURACY = 0.807102

# lesson7-superres-gan.ipynb: the critic pretrained 6 epochs on the generator's predictions vs
# the real Oxford-IIIT Pet photos, final validation accuracy_thresh_expand.
NOGAN_CRITIC_ACCURACY = 0.976239

# lesson7-superres.ipynb and lesson7-superres-gan.ipynb record losses (pixel MSE, feature loss),
# not PSNR/SSIM on held-out photos; lesson7-wgan.ipynb records only the WGAN losses on LSUN
# bedrooms (no quality metric). The demo shows None for those.
NOTEBOOKS = {
    "mnist": "lesson7-resnet-mnist",
    "numbers": "lesson7-human-numbers",
    "restore": "lesson7-superres",
    "colorize": "lesson7-superres-gan",
    "gan": "lesson7-superres-gan",
    "wgan": "lesson7-wgan",
}
