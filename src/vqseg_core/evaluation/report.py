"""``report``: one self-contained HTML page from one or more ``vqseg-eval`` output folders.

Gathers each folder's ``table.md`` (rendered as HTML tables), its PNG figures (embedded as
base64, so the page travels alone), its settings, the model hashes and the package versions.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vqseg_core.evaluation.common import versions

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:0.6em 0 1.4em;font-size:0.85em}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}
th:first-child,td:first-child{text-align:left}
thead{background:#f2f2f2} img{max-width:100%;border:1px solid #eee;margin:4px}
code,pre{background:#f6f6f6} pre{padding:0.6em;overflow-x:auto;font-size:0.8em}
.figs{display:flex;flex-wrap:wrap;gap:8px}
"""


def markdown_to_html(text: str) -> str:
    """The Markdown subset the tables use: headings, pipe tables, ``**bold**``, paragraphs."""
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        if line.startswith("|"):
            block = []
            while i < len(lines) and lines[i].startswith("|"):
                block.append(lines[i].rstrip())
                i += 1
            out.append(_table(block))
            continue
        heading = re.match(r"^(#{1,6})\s+(.*)$", line)
        if heading:
            level = len(heading.group(1))
            out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif line:
            out.append(f"<p>{_inline(line)}</p>")
        i += 1
    return "\n".join(out)


def _inline(text: str) -> str:
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(text))


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _table(block: list[str]) -> str:
    head, rows = _cells(block[0]), [_cells(b) for b in block[2:]]
    parts = [
        "<table><thead><tr>",
        *[f"<th>{_inline(c)}</th>" for c in head],
        "</tr></thead><tbody>",
    ]
    for row in rows:
        parts += ["<tr>", *[f"<td>{_inline(c)}</td>" for c in row], "</tr>"]
    parts.append("</tbody></table>")
    return "".join(parts)


def _image(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<figure><img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}"><figcaption>{html.escape(path.stem)}</figcaption></figure>'


def build_report(
    runs: Sequence[str | Path], path: str | Path, title: str = "vqseg robustness report"
) -> Path:
    """Write the HTML report of the output folders ``runs`` to ``path``.

    Raises:
        ValueError: a folder is missing or holds no ``settings.json`` (not a ``vqseg-eval`` output).
    """
    sections: list[str] = []
    pairs: dict[str, dict[str, Any]] = {}
    for run in runs:
        run = Path(run)
        settings_path = run / "settings.json"
        if not settings_path.is_file():
            raise ValueError(f"{run} holds no settings.json: not a vqseg-eval output folder")
        settings = json.loads(settings_path.read_text(encoding="utf-8"))
        for p in settings.get("pairs", []):
            pairs[p["id"]] = p
        sections.append(f"<h2>{html.escape(settings['command'])}: {html.escape(str(run))}</h2>")
        table = run / "table.md"
        if table.is_file():
            sections.append(markdown_to_html(table.read_text(encoding="utf-8")))
        figures = sorted(run.glob("plots/*.png")) + sorted(run.glob("heatmaps/*.png"))
        if figures:
            sections.append('<div class="figs">' + "".join(_image(f) for f in figures) + "</div>")
        shown = json.dumps(settings.get("settings", {}), indent=2, default=str)
        sections.append(
            f"<details><summary>settings</summary><pre>{html.escape(shown)}</pre></details>"
        )
    pair_rows = "".join(
        f"<tr><td>{html.escape(p['name'])}</td><td>{html.escape(key)}</td>"
        f"<td><code>{html.escape(sha)}</code></td><td>{html.escape(p['recipe']['name'])}</td></tr>"
        for p in pairs.values() for key, sha in p["sha256"].items()
    )  # fmt: skip
    version_rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>"
        for k, v in versions().items()
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{_CSS}</style></head>
<body><h1>{html.escape(title)}</h1>
<p>UNet vs VQ-UNet (Santhirasekaram et al., MICCAI 2022). Noise in the [0, 1] intensity frame;
draw d of a case uses seed hash(seed, case) + d for every model and every level; means over
distinct cases with sd and 95% Student-t intervals; HD95 in mm, undefined (empty mask) values
left out and counted; latent variance is the per-element population variance across draws.</p>
{"".join(sections)}
<h2>Model sets</h2><table><thead><tr><th>set</th><th>model</th><th>sha256</th><th>recipe</th></tr></thead><tbody>{pair_rows}</tbody></table>
<h2>Versions</h2><table><tbody>{version_rows}</tbody></table>
</body></html>
"""
    from vqseg_core.reporting import write_text

    return write_text(Path(path), page)
