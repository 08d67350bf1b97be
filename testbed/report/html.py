"""HTML building blocks of the report: page shell, sortable tables, figures and gallery cards.

Everything is escaped and self-contained: images are embedded as ``data:`` URIs, the table sorter
is a few lines of inline JavaScript, no file is fetched from anywhere when the page opens.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1400px;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0 1.4em;font-size:.85em}
th,td{border:1px solid #ccc;padding:.25em .55em;text-align:right}th{background:#f2f2f2;cursor:pointer}
td:first-child,th:first-child{text-align:left}th.sorted-asc::after{content:" \\25B2"}
th.sorted-desc::after{content:" \\25BC"}
.figures{display:flex;flex-wrap:wrap;gap:.8em}.figures figure{margin:0;max-width:640px}
.figures figure.wide{max-width:100%;flex-basis:100%}.figures img{max-width:100%;border:1px solid #eee}
.gallery{display:flex;flex-wrap:wrap;gap:.6em}.gallery figure{margin:0;width:260px;font-size:.75em}
.gallery img{width:100%;border:1px solid #ddd}pre{background:#f7f7f7;padding:.6em;overflow:auto;font-size:.8em}
.note{color:#555;font-size:.9em}
"""

#: Click a header to sort by that column (numbers numerically, text alphabetically; again to reverse).
SORT_SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, column) {
    th.addEventListener("click", function () {
      var ascending = !th.classList.contains("sorted-asc");
      table.querySelectorAll("th").forEach(function (h) { h.classList.remove("sorted-asc", "sorted-desc"); });
      th.classList.add(ascending ? "sorted-asc" : "sorted-desc");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[column].getAttribute("data-value"), y = b.cells[column].getAttribute("data-value");
        var nx = parseFloat(x), ny = parseFloat(y), order;
        if (!isNaN(nx) && !isNaN(ny)) { order = nx - ny; } else { order = String(x).localeCompare(String(y)); }
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def esc(text) -> str:
    return html.escape(str(text), quote=True)


def page(title: str, sections: list[str]) -> str:
    """The whole document."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<link rel=\"icon\" href=\"data:,\">"
            f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>\n"
            f"<h1>{esc(title)}</h1>\n" + "\n".join(sections)
            + f"\n<script>{SORT_SCRIPT}</script>\n</body></html>\n")


def section(heading: str, body: str, anchor: str = "") -> str:
    anchor_attr = f' id="{esc(anchor)}"' if anchor else ""
    return f"<section{anchor_attr}><h2>{esc(heading)}</h2>\n{body}\n</section>"


def table(header: list[str], rows: list[list], caption: str = "", table_id: str = "") -> str:
    """A sortable table; cells are (shown, sort value) pairs or plain values."""
    id_attr = f' id="{esc(table_id)}"' if table_id else ""
    out = [f'<table class="sortable"{id_attr}>']
    if caption:
        out.append(f"<caption>{esc(caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr></thead><tbody>")
    for row in rows:
        cells = []
        for cell in row:
            shown, value = cell if isinstance(cell, tuple) else (cell, cell)
            cells.append(f'<td data-value="{esc(value)}">{esc(shown)}</td>')
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def png_data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def thumbnail_data_uri(path: Path, width: int = 384) -> str:
    """A JPEG thumbnail (quality 92) of an image file, as a data URI (keeps the page small)."""
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("RGB")
        if image.width > width:
            image = image.resize((width, max(1, round(image.height * width / image.width))), Image.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=92)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def figure(path: Path, caption: str, wide: bool = False) -> str:
    css = "plot wide" if wide else "plot"
    return (f'<figure class="{css}"><img alt="{esc(caption)}" src="{png_data_uri(path)}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def gallery_card(image_path: Path, link: str, title: str, lines: list[str], attrs: dict) -> str:
    """One gallery entry: a thumbnail linking to the full image, a title and caption lines."""
    data = "".join(f' data-{esc(k)}="{esc(v)}"' for k, v in attrs.items())
    caption = "<br>".join(esc(line) for line in lines)
    try:
        thumbnail = thumbnail_data_uri(image_path)
    except Exception:  # not a readable image: say so instead of failing the report
        return missing_card(title, lines + [f"image unreadable: {Path(image_path).name}"])
    return (f'<figure class="card"{data}><a href="{esc(link)}"><img alt="{esc(title)}" '
            f'src="{thumbnail}"></a><figcaption><b>{esc(title)}</b><br>{caption}'
            "</figcaption></figure>")


def missing_card(title: str, lines: list[str]) -> str:
    """A gallery entry whose image cannot be shown (missing, unreadable or outside the run)."""
    caption = "<br>".join(esc(line) for line in lines)
    return f'<figure class="card missing"><figcaption><b>{esc(title)}</b><br>{caption}</figcaption></figure>'


def details(summary: str, text: str) -> str:
    return f"<details><summary>{esc(summary)}</summary><pre>{esc(text)}</pre></details>"
