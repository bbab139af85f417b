"""Forward hooks as context managers: registered on enter, removed on exit (never in __del__).

Used by the Dynamic U-Net to find where an encoder changes resolution and to read its skips,
and by the feature loss. Ref: fastai v1 `fastai/callbacks/hooks.py`; miniai `Hooks`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from torch import nn

HookFn = Callable[[nn.Module, tuple, Any], Any]


def record_output(module: nn.Module, inputs: tuple, output: Any) -> Any:
    """Hook function that keeps the module's output (with its graph: skips need gradients, B1)."""
    return output


class Hook:
    """Register `fn(module, inputs, output)` on `module`; its return value is kept in `.stored`."""

    def __init__(self, module: nn.Module, fn: HookFn = record_output) -> None:
        self.fn = fn
        self.stored: Any = None
        self.handle = module.register_forward_hook(self._hook)

    def _hook(self, module: nn.Module, inputs: tuple, output: Any) -> None:
        self.stored = self.fn(module, inputs, output)

    def remove(self) -> None:
        self.handle.remove()

    def __enter__(self) -> Hook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class Hooks:
    """A `Hook` on each of `modules`."""

    def __init__(self, modules: Iterable[nn.Module], fn: HookFn = record_output) -> None:
        self.hooks = [Hook(m, fn) for m in modules]

    @property
    def stored(self) -> list[Any]:
        return [h.stored for h in self.hooks]

    def __getitem__(self, i: int) -> Hook:
        return self.hooks[i]

    def __len__(self) -> int:
        return len(self.hooks)

    def __iter__(self) -> Iterator[Hook]:
        return iter(self.hooks)

    def remove(self) -> None:
        for h in self.hooks:
            h.remove()

    def __enter__(self) -> Hooks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put `model` in eval mode for the block, then restore its previous mode."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)
