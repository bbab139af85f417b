"""`lesson7 demo`: the lesson end to end, offline, in minutes on a laptop CPU.

One module per stage (`mnist`, `numbers`, `restore`, `colorize`, `gan`, `wgan`), each writing
its folder and a `report.json` (`stage_report`); `run.run_demo` runs them in order.
"""

from lesson7.demo.context import demo_photos, mnist_sample_path
from lesson7.demo.run import STAGES, run_demo

__all__ = ["STAGES", "run_demo", "mnist_sample_path", "demo_photos"]
