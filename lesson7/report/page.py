"""`write_report(run_dirs, out)`: run folders -> one self-contained HTML page.

Self-contained: images are inlined as data: URIs, charts are inline SVG, CSS is inline, and the
page references nothing on the network, so it can be mailed, archived or opened offline. The
only script is a few lines that move the before/after sliders; without it the comparison still
shows half of each image. The layout is one column that reflows from a phone to a laptop.

Each folder contributes one section per run: its own report.json (`contract.py`) if it has one,
else what `from_run.py` reads from the files its command wrote; sub-folders that are runs (the
demo's stages, the NoGAN chain's generator/critic/gan, `numbers --all`'s models) follow it.
"""

from __future__ import annotations

import base64
import io
import json
import struct
import time
from html import escape
from pathlib import Path

from lesson7 import __version__
from lesson7.files import atomic_write_text
from lesson7.report.contract import (
    IMAGE_SUFFIXES,
    REPORT_JSON,
    Figure,
    Report,
    check_images,
    load_report_json,
)
from lesson7.report.from_run import is_run_folder, report_from_run
from lesson7.report.svg import line_chart

__all__ = ["collect_runs", "render_page", "write_report"]

MAX_DEPTH = 2  # sub-folder levels searched for runs (demo/stage, chain/stage)
_SKIP_DIRS = {"state", "snapshots"}
MAX_INLINE_BYTES = 3_000_000
"""Larger images are downscaled (longest side 1600 px) before inlining, to keep the page light."""
_MAGIC = {"image/png": (b"\x89PNG\r\n\x1a\n",), "image/jpeg": (b"\xff\xd8\xff",),
          "image/gif": (b"GIF87a", b"GIF89a"), "image/webp": (b"RIFF",)}
_RUN_FILES = (REPORT_JSON, "config.json", "metrics.json", "crappify_report.json")


def collect_runs(run_dir: str | Path) -> list[tuple[Path, Report]]:
    """Every run in `run_dir` and its sub-folders, as (folder, report), parents first."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ValueError(f"{run_dir}: no such run folder")
    found = _collect(run_dir, 0)
    if not found:
        raise ValueError(f"{run_dir}: not a run folder (no report.json, config.json or metrics.json "
                         "in it or its sub-folders)")
    return found


def _collect(folder: Path, depth: int, only_reports: bool = False) -> list[tuple[Path, Report]]:
    """`only_reports`: below a folder with its own report.json, which chose what to show, only
    folders with a report.json count."""
    own = (folder / REPORT_JSON).is_file()
    found = []
    if own:
        found.append((folder, load_report_json(folder)))
    elif not only_reports and is_run_folder(folder):
        report = report_from_run(folder)
        check_images(report, folder, str(folder))  # its PNGs, too, may not be links leading out
        found.append((folder, report))
    if depth >= MAX_DEPTH:
        return found
    subs = [p for p in folder.iterdir() if p.is_dir() and p.name not in _SKIP_DIRS]
    for sub in sorted(subs, key=_started):  # the order the runs were made in (demo, chain)
        if found and not own and sub.name.startswith("eval"):
            continue  # restore eval results: already among their run's figures
        found += _collect(sub, depth + 1, only_reports or own)
    return found


def _started(folder: Path) -> tuple[float, str]:
    """When the run in `folder` started: its config.json is written first (else the folder's time)."""
    times = [(folder / f).stat().st_mtime for f in ("config.json", REPORT_JSON) if (folder / f).is_file()]
    return (min(times) if times else folder.stat().st_mtime, folder.name)


# -- images -------------------------------------------------------------------------------------
def data_uri(path: Path) -> tuple[str, int | None]:
    """The image as a data: URI, and its width when it is a PNG (to draw small ones pixelated)."""
    mime = IMAGE_SUFFIXES[path.suffix.lower()]
    raw = path.read_bytes()
    if not raw.startswith(_MAGIC[mime]):
        raise ValueError(f"{path}: not a {mime} file (its first bytes do not match)")
    width = struct.unpack(">I", raw[16:20])[0] if mime == "image/png" and len(raw) >= 24 else None
    if len(raw) > MAX_INLINE_BYTES:
        raw, mime = _shrink(path)
    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}", width


def _shrink(path: Path) -> tuple[bytes, str]:
    from PIL import Image

    with Image.open(path) as im:
        im.thumbnail((1600, 1600))
        buf = io.BytesIO()
        if im.mode in ("RGBA", "LA", "P"):
            im.save(buf, "PNG", optimize=True)
            return buf.getvalue(), "image/png"
        im.convert("RGB").save(buf, "JPEG", quality=88)
        return buf.getvalue(), "image/jpeg"


def _img(run_dir: Path, rel: str, alt: str, cls: str = "") -> str:
    uri, width = data_uri(run_dir / rel)
    classes = " ".join(c for c in (cls, "px" if width is not None and width <= 256 else "") if c)
    return f'<img src="{uri}" alt="{escape(alt)}"' + (f' class="{classes}"' if classes else "") + ">"


# -- the page -------------------------------------------------------------------------------------
def _num(v: float | int | str | None) -> str:
    if v is None:
        return "—"
    if isinstance(v, str):
        return escape(v)
    if isinstance(v, int):
        return f"{v:,}"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def _duration(s: float | None) -> str:
    if s is None:
        return "not recorded"
    if s < 60:
        return f"{s:.1f} s"
    m, sec = divmod(round(s), 60)
    return f"{m} min {sec} s" if m < 60 else f"{m // 60} h {m % 60} min"


def _figures(figures: list[Figure]) -> str:
    rows = "".join(
        f"<tr><th scope=row>{escape(f.name)}</th><td class=ours>{_num(f.ours)}"
        f"{' ' + escape(f.unit) if f.unit else ''}</td><td>{_num(f.lesson)}"
        f"{' ' + escape(f.unit) if f.unit and f.lesson is not None else ''}</td>"
        f"<td class=note>{escape(f.note)}</td></tr>" for f in figures)
    return ("<div class=scroll><table class=figures><thead><tr><th>figure</th><th>ours</th>"
            f"<th>lesson</th><th>note</th></tr></thead><tbody>{rows}</tbody></table></div>")


def _section(i: int, run_dir: Path, r: Report) -> str:
    out = [f'<section class=run id="run-{i}"><h2>{escape(r.title)}</h2>',
           f"<p class=summary>{escape(r.summary)}</p><dl class=facts>"]
    facts = [("lesson notebook", f"{r.lesson}.ipynb" if r.lesson.startswith("lesson7-") else r.lesson),
             ("command", r.command), ("device", r.device or "not recorded"),
             ("wall time", _duration(r.wall_time_s)), ("folder", str(run_dir))]
    out += [f"<div><dt>{k}</dt><dd>{escape(v)}</dd></div>" for k, v in facts if v]
    out.append("</dl>")
    if r.figures:
        out.append("<h3>Figures: ours beside the lesson's</h3>" + _figures(r.figures))
    if r.unavailable:
        items = "".join(f"<li><b>{escape(u.name)}</b>: {escape(u.reason)}</li>" for u in r.unavailable)
        out.append(f"<h3>Not available on this machine</h3><ul class=unavailable>{items}</ul>")
    if r.curves:
        charts = "".join(f"<figure class=curve>{line_chart(c)}<figcaption>{escape(c.name)}</figcaption>"
                         "</figure>" for c in r.curves)
        out.append(f"<h3>Curves</h3><div class=charts>{charts}</div>")
    for g in r.galleries:
        if g.kind == "grid":
            cells = "".join(f"<figure>{_img(run_dir, it.image or '', it.caption)}"
                            f"<figcaption>{escape(it.caption)}</figcaption></figure>" for it in g.items)
            out.append(f"<h3>{escape(g.title)}</h3><div class=grid>{cells}</div>")
        else:
            cells = "".join(
                f'<figure class=cmp style="--pos:50%"><div class=cmp-box>'
                f"{_img(run_dir, it.before or '', 'before: ' + it.caption, 'before')}"
                f"{_img(run_dir, it.after or '', 'after: ' + it.caption, 'after')}</div>"
                f'<input type=range min=0 max=100 value=50 aria-label="before / after: '
                f'{escape(it.caption)}"><figcaption>{escape(it.caption)} '
                "<span class=hint>(left: before, right: after)</span></figcaption></figure>"
                for it in g.items)
            out.append(f"<h3>{escape(g.title)}</h3><div class=compare>{cells}</div>")
    for t in r.texts:
        out.append(f"<h3>{escape(t.title)}</h3><pre class=text>{escape(chr(10).join(t.lines))}</pre>")
    if r.config:
        out.append("<details><summary>settings</summary><pre>"
                   f"{escape(json.dumps(r.config, indent=2, default=str))}</pre></details>")
    out.append("</section>")
    return "\n".join(out)


def render_page(runs: list[tuple[Path, Report]], title: str) -> str:
    """The HTML text of the page for these (folder, report) pairs."""
    nav = "".join(f'<li><a href="#run-{i}">{escape(r.title)}</a></li>' for i, (_, r) in enumerate(runs))
    sections = "\n".join(_section(i, d, r) for i, (d, r) in enumerate(runs))
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head>\n<body><header>"
            f"<h1>{escape(title)}</h1><p class=meta>Written {stamp} by lesson7 {__version__} from "
            f"{len(runs)} run{'s' if len(runs) != 1 else ''}. Lesson figures: fastai course-v3 "
            f"Lesson 7 notebooks, recorded on their full data.</p>"
            f"{f'<nav><ol>{nav}</ol></nav>' if len(runs) > 1 else ''}</header>\n<main>{sections}</main>"
            f"<script>{SCRIPT}</script></body></html>\n")


def write_report(run_dirs: list[str | Path] | str | Path, out_path: str | Path,
                 title: str | None = None) -> Path:
    """Write one self-contained HTML page for the runs in `run_dirs` to `out_path` (atomically);
    a ValueError naming the folder or file when a run folder or its report.json is unusable, or
    when `out_path` is one of the files the page is made from."""
    dirs = [Path(run_dirs)] if isinstance(run_dirs, (str, Path)) else [Path(d) for d in run_dirs]
    if not dirs:
        raise ValueError("no run folders given")
    runs = [run for d in dirs for run in collect_runs(d)]
    out_path = Path(out_path)
    if out_path.is_dir():
        raise ValueError(f"--out {out_path} is a folder; give a file name such as report.html")
    inputs = {(d / f).resolve() for d, _ in runs for f in _RUN_FILES}
    inputs |= {(d / p).resolve() for d, r in runs for g in r.galleries for it in g.items
               for p in it.paths().values()}
    if out_path.resolve() in inputs:
        raise ValueError(f"--out {out_path} is one of the report's inputs; choose another file")
    page_title = title or (runs[0][1].title if len(runs) == 1 else "lesson7 report")
    return atomic_write_text(out_path, render_page(runs, page_title))


SCRIPT = ("document.querySelectorAll('.cmp input').forEach(function(r){r.addEventListener('input',"
          "function(){r.closest('.cmp').style.setProperty('--pos',r.value+'%')})});")

CSS = """
:root{--fg:#1d1d1f;--muted:#5f6368;--line:#d9dce1;--bg:#fff;--card:#f6f7f9;--accent:#0072B2}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
background:var(--bg)}
header,main{max-width:1100px;margin:0 auto;padding:0 16px}
header{padding-top:16px;border-bottom:1px solid var(--line)}
h1{font-size:1.6rem;margin:.4em 0}h2{font-size:1.3rem;margin:0 0 .3em}
h3{font-size:1.05rem;margin:1.2em 0 .4em}
.meta,.hint,.note,figcaption{color:var(--muted);font-size:.9rem}
nav ol{padding-left:1.2em;columns:2 260px}
.run{padding:20px 0;border-bottom:1px solid var(--line)}
.summary{margin:.2em 0 .6em}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:4px 16px;margin:0}
.facts div{background:var(--card);padding:6px 10px;border-radius:6px;overflow-wrap:anywhere}
.facts dt{font-size:.75rem;text-transform:uppercase;color:var(--muted)}.facts dd{margin:0}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}
thead th{font-size:.8rem;text-transform:uppercase;color:var(--muted)}
td.ours{font-weight:600;white-space:nowrap}
td.note{min-width:8em}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(440px,100%),1fr));gap:16px}
figure{margin:0}
svg.chart{width:100%;height:auto;display:block;font-size:14px;fill:var(--muted)}
svg .grid{stroke:var(--line)}svg .axis{stroke:var(--muted)}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:.85rem}
.legend i{display:inline-block;width:12px;height:12px;margin-right:5px;border-radius:2px;vertical-align:-1px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:12px}
.grid img,.cmp img{width:100%;height:auto;display:block;border-radius:4px;background:var(--card)}
img.px{image-rendering:pixelated}
.compare{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(360px,100%),1fr));gap:16px}
.cmp-box{position:relative;overflow:hidden;border-radius:4px}
.cmp-box img.after{position:absolute;inset:0;height:100%;clip-path:inset(0 0 0 var(--pos))}
.cmp-box::after{content:"";position:absolute;top:0;bottom:0;left:var(--pos);width:2px;background:#fff;
box-shadow:0 0 3px #000}
.cmp input{width:100%;margin:6px 0 0}
pre{background:var(--card);padding:10px;border-radius:6px;overflow-x:auto;font-size:.85rem}
ul.unavailable{padding-left:1.2em}
details summary{cursor:pointer;color:var(--accent)}
@media (max-width:600px){body{font-size:15px}h1{font-size:1.3rem}.grid{grid-template-columns:repeat(2,1fr)}
th,td{padding:5px 6px}svg.chart{font-size:20px}}
"""
