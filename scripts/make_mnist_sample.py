"""Make lesson7/assets/mnist_sample.tgz, the offline demo's data: the first 100 training and
first 50 testing digits of each class from the full mnist_png archive, same layout.

    python scripts/make_mnist_sample.py ../shared/datasets/mnist/mnist_png.tgz
"""

import io
import sys
import tarfile
from collections import defaultdict
from pathlib import Path

N_PER_CLASS = {"training": 100, "testing": 50}


def main(src: str, dst: str = "lesson7/assets/mnist_sample.tgz") -> None:
    picked: dict[tuple[str, str], list[tuple[int, str, bytes]]] = defaultdict(list)
    with tarfile.open(src) as tar:
        for m in tar:
            parts = Path(m.name).parts  # mnist_png/<split>/<digit>/<index>.png
            if not m.isfile() or len(parts) != 4 or parts[1] not in N_PER_CLASS:
                continue
            picked[parts[1], parts[2]].append((int(Path(parts[3]).stem), m.name, tar.extractfile(m).read()))
    with tarfile.open(dst, "w:gz") as out:
        for (split, _digit), files in sorted(picked.items()):
            for _, name, data in sorted(files)[: N_PER_CLASS[split]]:
                info = tarfile.TarInfo(name.replace("mnist_png/", "mnist_sample/", 1))
                info.size, info.mtime = len(data), 0
                out.addfile(info, io.BytesIO(data))
    print(dst, Path(dst).stat().st_size, "bytes")


if __name__ == "__main__":
    main(*sys.argv[1:])
