"""The guide's notebooks: generated from the Markdown chapters, current, and runnable in Jupyter.

One notebook runs through a real Jupyter kernel (nbclient + ipykernel, in the ``notebook``
extra that ``dev`` installs), and its outputs must hold the network picture as inline SVG.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # the everyday run (pytest -m "not slow") leaves these out

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "docs" / "notebooks"


def generator():
    spec = importlib.util.spec_from_file_location("make_notebooks",
                                                  ROOT / "tools" / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_chapter_has_a_current_notebook():
    make = generator()
    pages = make.chapters()
    assert [p.stem for p in pages][:4] == ["01-neurons-and-layers",
                                           "02-cost-and-gradient-descent",
                                           "03-backpropagation-and-sgd", "04-chain-rule"]
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == [p.stem for p in pages]
    for page in pages:
        path = NOTEBOOKS / f"{page.stem}.ipynb"
        assert path.read_text(encoding="utf-8") == make.render(page), (
            f"{path.name} is stale: run `python tools/make_notebooks.py`")


def test_a_notebook_holds_the_chapters_code_and_text_with_working_links():
    make = generator()
    page = ROOT / "docs" / "07-your-own-experiments.md"
    nb = json.loads((NOTEBOOKS / "07-your-own-experiments.ipynb").read_text(encoding="utf-8"))
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert code == [block.strip("\n") for block in make.FENCE.findall(page.read_text())]
    text = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "](../img/own/xor_learned.png)" in text and "](img/" not in text
    assert all(c["outputs"] == [] for c in nb["cells"] if c["cell_type"] == "code")


def executed_outputs(nb, folder: Path) -> list:
    """Run ``nb`` in a real Jupyter kernel, in ``folder``; the outputs of its code cells (none
    of them an error)."""
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(folder)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    return outputs


def test_the_xor_notebook_runs_in_a_jupyter_kernel_and_shows_the_network_as_svg(tmp_path):
    nb = nbformat.read(NOTEBOOKS / "07-your-own-experiments.ipynb", as_version=4)
    outputs = executed_outputs(nb, tmp_path)
    svgs = [o.data["image/svg+xml"] for o in outputs if "image/svg+xml" in o.get("data", {})]
    assert svgs and "<svg" in svgs[0] and "MLP 2" in svgs[0]
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "[0 1 1 0]" in printed and "compiled engine" in printed


def test_the_watch_it_happen_notebook_shows_the_interactive_page_inline(tmp_path):
    nb = nbformat.read(NOTEBOOKS / "06-watch-it-happen.ipynb", as_version=4)
    nb.cells = nb.cells[:next(i for i, c in enumerate(nb.cells)  # up to the chain's page
                               if c.cell_type == "code" and "explore(chain)" in c.source) + 1]
    outputs = executed_outputs(nb, tmp_path)
    pages = [o.data["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert pages and pages[0].startswith("<iframe") and 'sandbox="allow-scripts"' in pages[0]
    assert "Content-Security-Policy" in pages[0] and "&lt;svg" in pages[0]
