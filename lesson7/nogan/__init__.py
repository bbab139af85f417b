"""NoGAN (DeOldify; lesson7-superres-gan.ipynb): the restoration pipeline that pretrains a
generator, saves its predictions, pretrains a critic on them, then runs a short GAN.

Stages: `lesson7.restore.train.train_restorer` (1), `preds.save_preds` (2),
`critic.pretrain_critic` (3), `finetune.gan_finetune` (4), `compare.compare_runs` (5);
`chain.run_nogan` runs them all. The GAN mechanics themselves are in `lesson7.gan`.
"""

from lesson7.nogan.chain import run_nogan
from lesson7.nogan.compare import compare, compare_runs, report_markdown
from lesson7.nogan.critic import critic_learner, pretrain_critic
from lesson7.nogan.critic_data import FolderPairs
from lesson7.nogan.finetune import gan_finetune, load_critic, load_generator
from lesson7.nogan.preds import save_preds

__all__ = ["FolderPairs", "compare", "compare_runs", "critic_learner", "gan_finetune",
           "load_critic", "load_generator", "pretrain_critic", "report_markdown", "run_nogan",
           "save_preds"]
