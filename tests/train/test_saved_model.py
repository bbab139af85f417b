"""A model saved with its config: round trip, and one readable error per wrong file."""

import json
from dataclasses import dataclass
from typing import Any

import pytest
import torch
from torch import nn

from lesson7.train.saved_model import SavedModelKind, TrainedModel


@dataclass
class TinyConfig:
    width: int = 4

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> "TinyConfig":
        return cls(width=meta["width"])


KIND = SavedModelKind(task="tiny", config_cls=TinyConfig, build=lambda c: nn.Linear(2, c.width),
                      name="tiny model", noun="model", train_command="lesson7 tiny train",
                      required=("width",),
                      describe=lambda c: f"width={c.width}")


class Tiny(TrainedModel):
    kind = KIND


def test_round_trip_through_a_run_folder(tmp_path):
    torch.manual_seed(0)
    t = Tiny(nn.Linear(2, 3), TinyConfig(width=3))
    t.save(tmp_path / "run" / "model", note="kept")
    loaded = Tiny.load(tmp_path / "run")
    assert isinstance(loaded, Tiny) and loaded.cfg == TinyConfig(3) and not loaded.model.training
    assert json.loads((tmp_path / "run" / "model.json").read_text())["note"] == "kept"
    torch.testing.assert_close(loaded.model.weight, t.model.weight)


def test_wrong_files_are_refused_by_name(tmp_path):
    Tiny(nn.Linear(2, 3), TinyConfig(width=3)).save(tmp_path / "run" / "model")
    meta_file = tmp_path / "run" / "model.json"
    meta = json.loads(meta_file.read_text())
    meta_file.write_text(json.dumps({**meta, "width": 5}))
    with pytest.raises(ValueError, match=r"do not fit the model its model.json describes \(width=5\)"):
        Tiny.load(tmp_path / "run")
    meta_file.write_text(json.dumps({**meta, "task": "other"}))
    with pytest.raises(ValueError, match="is not a tiny model .*`lesson7 tiny train`"):
        Tiny.load(tmp_path / "run")
    meta_file.write_text(json.dumps({k: v for k, v in meta.items() if k != "width"}))
    with pytest.raises(ValueError, match="is not a tiny model"):   # a required key is missing
        Tiny.load(tmp_path / "run")
    meta_file.unlink()
    with pytest.raises(ValueError, match="model.json is missing"):
        Tiny.load(tmp_path / "run")
    with pytest.raises(ValueError, match="no tiny model at"):
        Tiny.load(tmp_path / "nowhere")
    pth = tmp_path / "model.pth"
    torch.save({"w": torch.zeros(1)}, pth)
    with pytest.raises(ValueError, match="is a pickle"):
        Tiny.load(pth)
