"""Shared fixture: the human-numbers corpus written once per session into a temporary folder."""

from pathlib import Path

import pytest

from lesson7.text.human_numbers import make_human_numbers


@pytest.fixture(scope="session")
def numbers_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_human_numbers(tmp_path_factory.mktemp("human_numbers"))
