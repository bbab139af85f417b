import pytest

from lesson7.gan.switchers import (
    AdaptiveGANSwitcher,
    FixedGANSwitcher,
    ScheduledGANSwitcher,
    wgan_warmup_n_crit,
)


def _run(switcher, losses, gen_mode=False):
    """Drive a switcher like GANTrainer does; return the mode of each batch."""
    modes = []
    for loss in losses:
        modes.append("G" if gen_mode else "C")
        if switcher.step(gen_mode, loss):
            gen_mode = not gen_mode
    return "".join(modes)


def test_fixed_switcher_alternates_n_crit_then_n_gen():
    assert _run(FixedGANSwitcher(n_crit=5, n_gen=1), [0.0] * 13) == "CCCCCGCCCCCGC"
    assert _run(FixedGANSwitcher(n_crit=2, n_gen=3), [0.0] * 11) == "CCGGGCCGGGC"
    assert _run(FixedGANSwitcher(), [0.0] * 4) == "CGCG"


def test_fixed_switcher_reset_restarts_the_count():
    s = FixedGANSwitcher(n_crit=3, n_gen=1)
    assert not s.step(False, 0.0) and not s.step(False, 0.0)
    s.reset()
    assert [s.step(False, 0.0) for _ in range(3)] == [False, False, True]


def test_fixed_switcher_callable_count_sees_generator_steps():
    seen = []

    def n_crit(n_gen_steps):
        seen.append(n_gen_steps)
        return 3 if n_gen_steps < 2 else 1

    modes = _run(FixedGANSwitcher(n_crit=n_crit, n_gen=1), [0.0] * 12)
    assert modes == "CCCGCCCGCGCG"
    assert seen[:3] == [0, 0, 0] and seen[3:6] == [1, 1, 1] and seen[6:] == [2, 3]
    assert wgan_warmup_n_crit(0) == 100 and wgan_warmup_n_crit(30) == 5
    assert wgan_warmup_n_crit(500) == 100


def test_fixed_switcher_rejects_zero_counts():
    with pytest.raises(ValueError, match="n_crit"):
        FixedGANSwitcher(n_crit=0)


def test_adaptive_switcher_critic_trains_until_below_critic_thresh():
    s = AdaptiveGANSwitcher(critic_thresh=0.65)  # the lesson's setting; B7: one name
    assert s.critic_thresh == 0.65 and not hasattr(s, "crit_thresh")
    losses = [0.9, 0.7, 0.65, 0.6, 5.0, 0.8, 0.5, 9.0]
    assert _run(s, losses) == "CCCCGCCG"


def test_adaptive_switcher_gen_thresh_branch():
    s = AdaptiveGANSwitcher(gen_thresh=1.0, critic_thresh=None)
    # critic: always switches; generator: stays until its loss is below 1.0
    assert _run(s, [0.1, 2.0, 1.5, 0.9, 0.1, 0.5]) == "CGGGCG"
    assert _run(AdaptiveGANSwitcher(), [1.0, 1.0, 1.0]) == "CGC"


def test_scheduled_switcher_gives_each_epoch_its_generator_batches_spread_out():
    epochs = [(2, 6), (0, 6), (5, 6), (1, 4)]
    modes = _run(ScheduledGANSwitcher(epochs), [0.0] * 26)
    per_epoch = [modes[0:6], modes[6:12], modes[12:18], modes[18:22], modes[22:]]
    assert per_epoch == ["CCGCGC", "CCCCCC", "CGGGGG", "CCGC", "CCCC"]  # then critic only
    assert [e.count("G") for e in per_epoch[:4]] == [g for g, _ in epochs]


def test_scheduled_switcher_reset_and_bad_counts():
    switcher = ScheduledGANSwitcher([(1, 4)])
    assert _run(switcher, [0.0] * 5) == "CCGCC"
    switcher.reset()
    assert _run(switcher, [0.0] * 4) == "CCGC"
    with pytest.raises(ValueError, match="epoch 1: 4 generator batches of 4"):
        ScheduledGANSwitcher([(1, 4), (4, 4)])
