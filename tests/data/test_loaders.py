"""DataBunch: in-memory vs streaming, epochs, normalisation, sharding, show_batch, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from lesson7.data import ImageList, get_transforms, imagenet_stats, rand_pad, shard_batches


def mnist_data(root, **kw):
    return (ImageList.from_folder(root, convert_mode="L")
            .split_by_folder(train="training", valid="testing").label_from_folder()
            .transform(rand_pad(1, 8), []).databunch(**kw))


def test_in_memory_databunch_shapes_labels_and_len(mnist_like):
    data = mnist_data(mnist_like, bs=4)
    assert data.train_ds.x_data is not None and data.train_ds.x_data.dtype == torch.uint8
    assert data.classes == ["0", "1", "2"] and data.c == 3
    x, y = data.train_ds[0]
    assert x.shape == (1, 8, 8) and 0 <= x.min() and x.max() <= 1 and y == 0
    assert len(data.train_dl) == 18 // 4 and len(data.valid_dl) == 2   # train drops the remainder
    xb, yb = next(iter(data.train_dl))
    assert xb.shape == (4, 1, 8, 8) and yb.dtype == torch.long
    seen = torch.cat([yb for _, yb in data.valid_dl])
    assert sorted(seen.tolist()) == [0, 0, 1, 1, 2, 2]


def test_streaming_matches_in_memory_on_valid(mnist_like):
    mem = mnist_data(mnist_like, bs=4, in_memory=True)
    stream = mnist_data(mnist_like, bs=4, in_memory=False)
    assert stream.train_ds.x_data is None
    for (a, ya), (b, yb) in zip(mem.valid_dl, stream.valid_dl, strict=True):
        assert torch.equal(a, b) and torch.equal(ya, yb)
    # training: same order and same augmentation draws for the same seed and epoch
    a, ya = mem.one_batch()
    b, yb = stream.one_batch()
    assert torch.equal(a, b) and torch.equal(ya, yb)


def test_streaming_with_workers(mnist_like):
    data = mnist_data(mnist_like, bs=4, in_memory=False, num_workers=2)
    batches = list(data.train_dl)
    assert len(batches) == 4 and all(xb.shape == (4, 1, 8, 8) for xb, _ in batches)


def test_streaming_to_the_same_device_keeps_its_workers(mnist_like):
    data = mnist_data(mnist_like, bs=4, in_memory=False, num_workers=1)
    first = next(iter(data.train_dl))
    dl = data.train_dl._dl
    assert dl is not None and data.to("cpu").train_dl._dl is dl  # same DataLoader, same workers
    data.train_dl.set_epoch(0)
    assert torch.equal(next(iter(data.train_dl))[0], first[0])


def test_epochs_reshuffle_and_set_epoch_reproduces(mnist_like):
    data = mnist_data(mnist_like, bs=6)
    e0 = torch.cat([y for _, y in data.train_dl])
    e1 = torch.cat([y for _, y in data.train_dl])
    first = [x for x, _ in data.train_dl]
    data.train_dl.set_epoch(0)
    again = torch.cat([y for _, y in data.train_dl])
    assert torch.equal(e0, again) and not torch.equal(e0, e1)
    data.train_dl.set_epoch(2)
    assert all(torch.equal(a, b) for a, b in zip(first, [x for x, _ in data.train_dl],
                                                   strict=True))


def test_normalize_from_a_batch_gives_zero_mean_unit_std(mnist_like):
    data = mnist_data(mnist_like, bs=16).normalize()
    xb, _ = data.one_batch()
    assert abs(xb.mean().item()) < 1e-4 and abs(xb.std().item() - 1) < 1e-3
    raw, _ = data.one_batch(normalize=False)
    assert torch.allclose(data.denorm(xb), raw, atol=1e-5)
    data.normalize(([0.5], [0.25]))
    assert torch.allclose(data.one_batch()[0], (raw - 0.5) / 0.25, atol=1e-5)
    with pytest.raises(ValueError, match="stats must give 1"):
        data.normalize(imagenet_stats)


def test_show_batch_writes_png(mnist_like, tmp_path):
    data = mnist_data(mnist_like, bs=8).normalize()
    out = data.show_batch(rows=2, path=tmp_path / "plots" / "batch.png")
    assert out.is_file() and Image.open(out).format == "PNG"


def test_shard_gives_disjoint_equal_shares(mnist_like):
    shares = []
    for rank in range(3):
        data = mnist_data(mnist_like, bs=2).shard(rank, 3)
        data.train_dl.set_epoch(4)
        shares.append([torch.cat([y for _, y in data.train_dl]).numel(), data])
    assert len({n for n, _ in shares}) == 1 and len({len(d.train_dl) for _, d in shares}) == 1
    idx = [torch.cat(shard_batches(18, 2, True, True, 0, 4, r, 3)).tolist() for r in range(3)]
    assert all(not set(a) & set(b) for i, a in enumerate(idx) for b in idx[i + 1:])
    assert sorted(sum(idx, [])) == list(range(18))
    other_epoch = [torch.cat(shard_batches(18, 2, True, True, 0, 5, r, 3)).tolist()
                   for r in range(3)]
    assert other_epoch != idx


def test_shard_pads_train_and_splits_valid_without_duplicates():
    train = [torch.cat(shard_batches(10, 2, True, True, 0, 0, r, 4)) for r in range(4)]
    assert {len(t) for t in train} == {2}          # ceil(10/4)=3 per rank, then drop_last
    valid = [shard_batches(10, 2, False, False, 0, 0, r, 4) for r in range(4)]
    assert len({len(v) for v in valid}) == 1       # same number of batches on every rank
    flat = sorted(torch.cat([torch.cat(v) for v in valid]).tolist())
    assert flat == list(range(10))                 # every item exactly once


def test_image_to_image_with_tfm_y(tmp_path, png):
    rng = np.random.default_rng(0)
    for i in range(6):
        png(tmp_path / "hr" / f"{i}.png", rng.integers(0, 256, (24, 30, 3)))
    data = (ImageList.from_folder(tmp_path / "hr").split_none()
            .label_from_func(lambda p: p)        # y is the same image as x
            .transform(get_transforms(max_zoom=2.0), size=16, tfm_y=True)
            .databunch(bs=3).normalize(imagenet_stats, do_y=True))
    assert data.classes is None and data.c == 3
    xb, yb = data.one_batch()
    assert xb.shape == yb.shape == (3, 3, 16, 16)
    assert torch.equal(xb, yb)                     # same random crop, geometry and lighting
    x, y = data.train_ds[0]
    assert x.shape == y.shape == (3, 16, 16)
    assert data.show_batch(rows=2, path=tmp_path / "pairs.png").is_file()


def test_ragged_images_stream_with_size_and_error_without(tmp_path, png):
    for i, (h, w) in enumerate([(10, 12), (14, 9), (11, 11), (20, 16)]):
        png(tmp_path / "imgs" / "a" / f"{i}.png", np.full((h, w, 3), 40 * i))
    il = ImageList.from_folder(tmp_path / "imgs").split_none().label_from_folder()
    data = il.transform(get_transforms(), size=8).databunch(bs=2)
    assert data.train_ds.x_data is None           # different shapes: streamed
    assert next(iter(data.train_dl))[0].shape == (2, 3, 8, 8)
    with pytest.raises(ValueError, match="differ in shape.*size="):
        il.transform().databunch(bs=2)
    with pytest.raises(ValueError, match="in_memory"):
        il.transform(size=8).databunch(bs=2, in_memory=True)


def test_undecodable_files_are_skipped_with_a_warning_or_raise(mnist_like):
    bad = mnist_like / "training" / "1" / "corrupt.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.warns(UserWarning, match=r"skipped 1 undecodable.*corrupt\.png"):
        data = mnist_data(mnist_like, bs=4)
    assert len(data.train_ds) == 18 and len(data.train_ds.x_data) == 18
    assert bad not in data.train_ds.items
    with pytest.raises(ValueError, match="corrupt.png"):
        mnist_data(mnist_like, bs=4, on_error="raise")
    stream = mnist_data(mnist_like, bs=19, in_memory=False)
    with pytest.warns(UserWarning, match="corrupt.png"):
        xb, _ = next(iter(stream.train_dl))
    assert xb.shape[0] == 19                       # streaming substitutes another item
    strict = mnist_data(mnist_like, bs=19, in_memory=False, on_error="raise")
    with pytest.raises(ValueError, match="corrupt.png"):
        next(iter(strict.train_dl))


def test_to_device_keeps_batches_there(mnist_like):
    data = mnist_data(mnist_like, bs=4).normalize().to("cpu")
    assert data.device == torch.device("cpu") and data.one_batch()[0].device.type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_batches_stay_on_cuda(mnist_like):
    data = mnist_data(mnist_like, bs=4).normalize().to("cuda")
    assert data.train_dl.x.is_cuda
    assert all(xb.is_cuda and yb.is_cuda for xb, yb in data.train_dl)


def test_bad_arguments(mnist_like):
    ll = ImageList.from_folder(mnist_like).split_by_folder("training", "testing")
    with pytest.raises(ValueError, match="tfm_y=True needs image targets"):
        ll.label_from_folder().transform(tfm_y=True)
    with pytest.raises(ValueError, match="on_error"):
        ll.label_from_folder().databunch(on_error="ignore")
    with pytest.raises(ValueError, match="bs must be"):
        ll.label_from_folder().databunch(bs=0)


def test_transform_accepts_the_lessons_tfms_pair(mnist_like):
    ll = ImageList.from_folder(mnist_like, "L").split_by_folder("training", "testing")
    a = ll.label_from_folder().transform(([*rand_pad(1, 8)], [])).databunch(bs=4)
    b = ll.label_from_folder().transform(rand_pad(1, 8), []).databunch(bs=4)
    assert torch.equal(a.one_batch()[0], b.one_batch()[0])
    assert [type(t).__name__ for t in a.train_dl.tfms.tfms] == ["Pad", "RandomCrop"]
    assert a.valid_dl.tfms.tfms == []
