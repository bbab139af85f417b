"""Reports: run folders -> one self-contained HTML page (`write_report`), and the run-folder
contract any command can write for it (`RUN/report.json`, `save_report_json`). Torch-free."""

from lesson7.report.contract import (
    Curve,
    Figure,
    Gallery,
    GalleryItem,
    Report,
    TextBlock,
    Unavailable,
    load_report_json,
    save_report_json,
)
from lesson7.report.page import write_report

__all__ = ["Curve", "Figure", "Gallery", "GalleryItem", "Report", "TextBlock", "Unavailable",
           "load_report_json", "save_report_json", "write_report"]
