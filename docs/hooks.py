"""MkDocs hook: the catalog page ends with experiments/README.md, the file users get.

``experiments/README.md`` is what ``chaosaws-serverless experiments copy`` puts
beside the ready experiments (and what the tests read the compose recipes
from), so the site shows that file rather than a second copy of it: its
headings one level down, under the page's own.
"""

import re
from pathlib import Path
from typing import Any

MARKER = "<!-- experiments/README.md -->"
README = Path(__file__).resolve().parents[1] / "experiments" / "README.md"


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    if MARKER not in markdown:
        return markdown
    lines, fenced = [], False
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and re.match(r"^#+ ", line):
            line = "#" + line
        lines.append(line)
    return markdown.replace(MARKER, "\n".join(lines))
