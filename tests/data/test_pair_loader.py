"""`PairLoader`: ImageNet-normalised (input, target) batches, the epoch passed to the dataset."""

import torch

from lesson7.data.pair_loader import PairLoader
from lesson7.data.stats import IMAGENET_MEAN, IMAGENET_STD


class Pairs(torch.utils.data.Dataset):
    seed = 3

    def __init__(self):
        self.epochs = []

    def set_epoch(self, epoch):
        self.epochs.append(epoch)

    def __len__(self):
        return 5

    def __getitem__(self, i):
        return torch.full((3, 4, 4), 0.5), torch.full((3, 4, 4), float(i) / 4)


def test_batches_are_normalised_and_the_epoch_reaches_the_dataset():
    ds = Pairs()
    dl = PairLoader(ds, bs=2, shuffle=False)
    batches = list(dl)
    assert len(dl) == 3 and [len(x) for x, _ in batches] == [2, 2, 1]
    mean, std = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
    x, y = batches[0]
    torch.testing.assert_close(x[0, :, 0, 0], (0.5 - mean) / std)
    torch.testing.assert_close(y[1, :, 0, 0], (0.25 - mean) / std)
    dl.set_epoch(4)
    assert ds.epochs == [4]
    assert len(PairLoader(ds, bs=2, shuffle=True)) == 2  # shuffled training drops the ragged batch
