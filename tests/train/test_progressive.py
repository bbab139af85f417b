"""Progressive-resizing phases: order, skipped phases, batch size per size."""

from lesson7.train.progressive import batch_size_at, progressive_phases


def test_phases_go_frozen_then_unfrozen_per_size():
    assert progressive_phases([64, 128], 2, 3) == [(64, True, 2), (64, False, 3),
                                                   (128, True, 2), (128, False, 3)]


def test_a_phase_of_zero_epochs_is_left_out():
    assert progressive_phases([64, 128], 0, 3) == [(64, False, 3), (128, False, 3)]
    assert progressive_phases([64], 2, 0) == [(64, True, 2)]


def test_batch_size_keeps_pixels_per_batch_and_never_reaches_zero():
    assert batch_size_at(32, 64, 64) == 32
    assert batch_size_at(32, 64, 128) == 8
    assert batch_size_at(1, 64, 256) == 1
