"""Make `lesson7/assets/demo_photos/`: the demo's four real photos, from scikit-image's samples.

Each is a 256 x 256 crop (no resampling) of a public-domain / CC0 photo that scikit-image ships in
`skimage.data` (licences quoted from each loader's docstring, scikit-image 0.26; they are written
to `LICENSE.md` beside the photos). Packaging four small crops (~0.6 MB) keeps the demo offline
without making scikit-image (and its own dependencies) a dependency of the package.

    pip install scikit-image && python scripts/make_demo_photos.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

OUT = Path(__file__).resolve().parents[1] / "lesson7" / "assets" / "demo_photos"
SIZE = 256

# name -> (skimage.data loader, crop box top-left (x, y), licence line from its docstring)
PHOTOS = {
    "astronaut": ("astronaut", (130, 10),
                  "Eileen Collins, NASA Great Images database (https://flic.kr/p/r9qvLn): "
                  "\"No known copyright restrictions, released into the public domain.\""),
    "chelsea": ("chelsea", (100, 20),
                "Chelsea the cat: \"No copyright restrictions. CC0 by the photographer "
                "(Stefan van der Walt).\""),
    "coffee": ("coffee", (170, 50),
               "Coffee cup, courtesy of Pikolo Espresso Bar: \"No copyright restrictions. CC0 by "
               "the photographer (Rachel Michetti).\""),
    "rocket": ("rocket", (190, 60),
               "Launch of DSCOVR on Falcon 9, SpaceX "
               "(https://www.flickr.com/photos/spacexphotos/16511594820/): \"released in the "
               "public domain\" by SpaceX."),
}


def main() -> None:
    import skimage
    import skimage.data

    OUT.mkdir(parents=True, exist_ok=True)
    lines = ["# Demo photos", "",
             f"256 x 256 crops (no resampling) of sample photos shipped with scikit-image "
             f"{skimage.__version__} (`skimage.data`), made by `scripts/make_demo_photos.py`. "
             "Licences as stated in scikit-image's documentation of each image:", ""]
    for name, (loader, (x, y), licence) in PHOTOS.items():
        img = Image.fromarray(getattr(skimage.data, loader)()).convert("RGB")
        img.crop((x, y, x + SIZE, y + SIZE)).save(OUT / f"{name}.png", optimize=True)
        lines.append(f"- `{name}.png` (`skimage.data.{loader}()`, crop at x={x}, y={y}): {licence}")
    (OUT / "LICENSE.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
