"""Generate the guide's notebooks, ``docs/notebooks/*.ipynb``, from its Markdown chapters.

The Markdown is the one source of truth: each ```python block becomes a code cell and the text
between blocks a Markdown cell (links and pictures pointed one folder up, links to chapters at
their notebooks). Edit the chapter, then regenerate::

    python tools/make_notebooks.py           # write docs/notebooks/
    python tools/make_notebooks.py --check   # exit status 1 if a notebook is stale

Needs nbformat (the ``notebook`` extra, which ``dev`` includes).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
OUT = DOCS / "notebooks"
FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```[ \t]*\n?", re.DOTALL | re.MULTILINE)
# A relative link or picture: not a web address, an anchor or an absolute path.
RELATIVE_LINK = re.compile(r"\]\((?!https?:|#|/)([^)\s]+)\)")


def chapters() -> list[Path]:
    """The numbered chapters of the guide, in order (``docs/01-...md`` ...)."""
    return sorted(DOCS.glob("[0-9][0-9]-*.md"))


def _relink(text: str, names: set[str]) -> str:
    """Links as seen from docs/notebooks/: chapters → their notebooks, the rest one level up."""
    def target(match: re.Match[str]) -> str:
        link = match.group(1)
        page, _, anchor = link.partition("#")
        if page in names:
            link = page[:-3] + ".ipynb" + (f"#{anchor}" if anchor else "")
        else:
            link = f"../{link}"
        return f"]({link})"

    return RELATIVE_LINK.sub(target, text)


def notebook(page: Path) -> nbformat.NotebookNode:
    """The notebook of one chapter: its Markdown and code cells, with stable cell ids."""
    text = page.read_text(encoding="utf-8")
    names = {p.name for p in chapters()}
    note = (f"*This notebook is generated from [`docs/{page.name}`](../{page.name}) by "
            "`tools/make_notebooks.py`; edit the Markdown, not this file.*")
    parts: list[tuple[str, str]] = [("markdown", note)]
    start = 0
    for block in FENCE.finditer(text):
        parts += [("markdown", _relink(text[start:block.start()], names)),
                  ("code", block.group(1))]
        start = block.end()
    parts.append(("markdown", _relink(text[start:], names)))
    cells = []
    for kind, source in parts:
        source = source.strip("\n")
        if not source.strip():
            continue
        make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        cell = make(source)
        cell["id"] = f"{page.stem[:50]}-{len(cells)}"
        cells.append(cell)
    nb = nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    })
    nbformat.validate(nb)
    return nb


def render(page: Path) -> str:
    """The ``.ipynb`` text of one chapter."""
    return nbformat.writes(notebook(page)) + "\n"


def main(argv: list[str]) -> int:
    """Write the notebooks, or with ``--check`` report the stale ones (exit status 1)."""
    check = argv == ["--check"]
    if argv and not check:
        print(__doc__)
        return 2
    stale = []
    for page in chapters():
        path = OUT / f"{page.stem}.ipynb"
        text = render(page)
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path)
        if not check:
            OUT.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
    verb = "stale" if check else "wrote"
    for path in stale:
        print(f"{verb}: {path.relative_to(ROOT)}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
