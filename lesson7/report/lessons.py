"""What each command mirrors in the course, and the lesson's recorded numbers to show beside ours.

Sources: the fastai course-v3 Lesson 7 notebooks at HEAD (2019-01-25); the human-numbers LSTM
figure is fastbook's `12_nlp_dive` LMModel7. Each command's run folder names its config class
(config.json "config") or its task (metrics.json "task"); both map to an entry here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["TaskInfo", "TASKS", "CONFIG_TASKS", "task_info"]


@dataclass(frozen=True)
class TaskInfo:
    command: str
    lesson: str
    summary: str
    lesson_figures: dict[str, float] = field(default_factory=dict)
    """metric name -> the lesson's final value (per model where the lesson trains several)."""


# MNIST (lesson7-resnet-mnist.ipynb, HEAD): final accuracy / valid_loss per model, full 60k/10k data.
MNIST_LESSON = {"basic": {"accuracy": 0.9886, "valid_loss": 0.038664},
                "refactor": {"accuracy": 0.9916, "valid_loss": 0.028373},
                "resnet": {"accuracy": 0.9952, "valid_loss": 0.016120}}

TASKS: dict[str, TaskInfo] = {
    "mnist": TaskInfo(
        "lesson7 mnist", "lesson7-resnet-mnist",
        "Trains the lesson's MNIST CNN (basic, refactored or ResNet-ish) from scratch with the "
        "one-cycle schedule and measures accuracy on the held-out test digits."),
    "numbers": TaskInfo(
        "lesson7 numbers", "lesson7-human-numbers",
        "Trains the lesson's human-numbers language models (Model0-5, LSTM) from scratch to "
        "predict the next word of 'one, two, three, ...'."),
    "restore": TaskInfo(
        "lesson7 restore train", "lesson7-superres",
        "Trains a U-Net on (degraded, original) image pairs so it learns to undo the "
        "degradation: upscale, remove JPEG artefacts, restore detail."),
    "restore eval": TaskInfo(
        "lesson7 restore eval", "lesson7-superres",
        "Scores a restoration model against the degraded input on held-out images "
        "(PSNR, SSIM, LPIPS)."),
    "gan critic": TaskInfo(
        "lesson7 gan critic", "lesson7-superres-gan",
        "Pretrains the lesson's critic to tell the generator's outputs from real images "
        "(NoGAN step 2).", {"accuracy_thresh_expand": 0.976239}),
    "gan": TaskInfo(
        "lesson7 gan train", "lesson7-superres-gan",
        "Fine-tunes the pretrained generator against the pretrained critic, the short GAN stage "
        "of NoGAN."),
    "gan restore": TaskInfo(
        "lesson7 gan restore", "lesson7-superres-gan",
        "Runs the whole NoGAN chain (generator, its predictions, critic, GAN fine-tune) and "
        "compares the generator before and after the GAN stage."),
    "wgan": TaskInfo(
        "lesson7 wgan", "lesson7-wgan",
        "Trains the lesson's WGAN (or WGAN-GP) to generate images from noise; samples from "
        "fixed noise after every epoch show its progress."),
    "crappify": TaskInfo(
        "lesson7 crappify", "crappify.py (lesson7-superres-gan)",
        "Makes degraded copies of a folder of images (downscale, JPEG at a random quality, "
        "that quality stamped on), the lesson's low-resolution inputs."),
    "demo": TaskInfo(
        "lesson7 demo", "all Lesson 7 notebooks",
        "Runs the lesson end to end on small offline data, one folder per stage."),
}

CONFIG_TASKS = {"MnistConfig": "mnist", "NumbersConfig": "numbers", "RestoreTrainConfig": "restore",
                "EvalConfig": "restore eval", "CriticConfig": "gan critic", "GANTrainConfig": "gan",
                "NoGANConfig": "gan restore", "WGANConfig": "wgan", "CrappifyConfig": "crappify",
                "DemoConfig": "demo"}


def task_info(task: str) -> TaskInfo | None:
    return TASKS.get(task)


def lesson_figure(task: str, metric: str, config: dict) -> float | None:
    """The lesson's recorded value of `metric` for this run's settings, if it has one."""
    if task == "mnist":
        return MNIST_LESSON.get(str(config.get("model", "resnet")), {}).get(metric)
    info = TASKS.get(task)
    return info.lesson_figures.get(metric) if info else None
