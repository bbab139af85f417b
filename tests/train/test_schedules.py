import math

import pytest
import torch

from lesson7.train.schedules import combine, cos_sched, one_cycle, one_cycle_moms


def test_cos_sched_endpoints():
    f = cos_sched(1.0, 3.0)
    assert f(0) == pytest.approx(1.0) and f(0.5) == pytest.approx(2.0) and f(1) == pytest.approx(3.0)


def test_one_cycle_key_points():
    f = one_cycle(0.1, pct_start=0.3, div=25, div_final=25e4)
    assert f(0) == pytest.approx(0.1 / 25)
    assert f(0.3) == pytest.approx(0.1)
    assert f(1) == pytest.approx(0.1 / 25e4)
    m = one_cycle_moms((0.95, 0.85, 0.95), 0.3)
    assert m(0) == pytest.approx(0.95) and m(0.3) == pytest.approx(0.85) and m(1) == pytest.approx(0.95)


def test_one_cycle_matches_torch_onecyclelr():
    n, lr_max = 1000, 0.05
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr_max, momentum=0.9)
    # torch's final_div_factor divides the *initial* lr; fastai's div_final divides lr_max.
    ref = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr_max, total_steps=n, pct_start=0.3,
                                              div_factor=25, final_div_factor=25e4 / 25,
                                              base_momentum=0.85, max_momentum=0.95)
    ours, mom = one_cycle(lr_max, 0.3, 25, 25e4), one_cycle_moms((0.95, 0.85, 0.95), 0.3)
    for i in range(n):
        lr_ref, mom_ref = opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"]
        pct = i / (n - 1)
        assert math.isclose(ours(pct), lr_ref, rel_tol=0, abs_tol=lr_max * 5e-3), i
        assert math.isclose(mom(pct), mom_ref, abs_tol=2e-3), i
        opt.step()
        ref.step()


def test_combine_rejects_bad_phases():
    with pytest.raises(ValueError, match="sum to 1"):
        combine([0.5, 0.6], [cos_sched(0, 1), cos_sched(1, 0)])
