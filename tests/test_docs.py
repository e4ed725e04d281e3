"""The documentation runs: every ```python block of README.md and docs/*.md is executed.

The blocks of one page run in order in one namespace, as a reader would type them, inside a
temporary working folder (so files they write land there); README.md's blocks each run in a
fresh namespace, so every section's example works on its own. The API reference, docs/api.md, is
generated from the docstrings; this file checks it is current. Regenerate it with

    python tests/test_docs.py --write-api
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_blocks(page: Path) -> list[str]:
    return FENCE.findall(page.read_text(encoding="utf-8"))


def test_every_page_is_found():
    assert (ROOT / "README.md") in PAGES
    assert python_blocks(ROOT / "README.md"), "README.md has no python example"


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_code_blocks_of_the_page_run(page, tmp_path, monkeypatch):
    """A chapter's blocks build on each other; the README's each run on their own, as a reader
    copies one section's example into a fresh session."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    for i, block in enumerate(python_blocks(page)):
        if page.name == "README.md":
            namespace = {"__name__": f"docs_{page.stem}_{i + 1}"}
        code = compile(block, f"{page.name}[block {i + 1}]", "exec")
        exec(code, namespace)  # noqa: S102 - the docs are our own code


# ------------------------------------------------------------------ API reference
def _first_paragraph(doc: str | None) -> str:
    doc = inspect.cleandoc(doc or "")
    return doc.split("\n\n")[0].replace("\n", " ").strip()


def _constant_description(name: str, obj: object) -> tuple[str, str]:
    """``(module, description)`` of a module-level constant, from the ``#:`` comment above its
    assignment (a tuple's or dict's own ``__doc__`` describes the type, not the constant)."""
    for module_name, module in sorted(sys.modules.items()):
        if not module_name.startswith("tinygrad_lite.") or getattr(module, name, None) is not obj:
            continue
        try:
            source = inspect.getsource(module)
        except (OSError, TypeError):
            continue
        found = re.search(rf"((?:^#:.*\n)+)^{name}\b[^=\n]*=", source, re.MULTILINE)
        if found:
            comment = " ".join(line[2:].strip() for line in found.group(1).splitlines())
            return module_name, comment
    return "tinygrad_lite", ""


def _constant_value(obj: object) -> str:
    """What a constant holds, in one line: the names of a dict's keys or a tuple's items."""
    items = list(obj) if isinstance(obj, (dict, tuple, list, frozenset)) else []
    if items and all(isinstance(i, str) for i in items):
        label = "Keys" if isinstance(obj, dict) else "Values"
        return f"{label}: " + ", ".join(f"`{i}`" for i in items) + "."
    return f"Value: `{obj!r}`." if len(repr(obj)) <= 80 else ""


def render_api_reference() -> str:
    """docs/api.md: every public name of tinygrad_lite with its signature and summary."""
    import tinygrad_lite

    lines = [
        "# API reference",
        "",
        "Generated from the docstrings by `python tests/test_docs.py --write-api`; a test fails when",
        "it is out of date. Everything here is importable from `tinygrad_lite`.",
        "",
    ]
    for name in sorted(tinygrad_lite.__all__, key=str.lower):
        if name.startswith("__"):
            continue
        obj = getattr(tinygrad_lite, name)
        module = getattr(obj, "__module__", "tinygrad_lite") or "tinygrad_lite"
        try:
            signature = str(inspect.signature(obj)) if callable(obj) else ""
        except (TypeError, ValueError):
            signature = ""
        # A function default renders with its address, which changes every run.
        signature = re.sub(r"<function (\w+) at 0x[0-9a-f]+>", r"\1", signature)
        kind = "class" if inspect.isclass(obj) else ("function" if callable(obj) else "object")
        summary = _first_paragraph(obj.__doc__)
        if kind == "object":
            module, summary = _constant_description(name, obj)
            summary = " ".join(filter(None, [summary, _constant_value(obj)]))
            kind = "constant"
        lines.append(f"## `{name}{signature}`")
        lines.append("")
        lines.append(f"*{kind} in `{module}`*")
        lines.append("")
        lines.append(summary or "(undocumented)")
        lines.append("")
        if inspect.isclass(obj):
            for attr, member in sorted(vars(obj).items()):
                if attr.startswith("_") or not (callable(member) or isinstance(member, property)
                                                or isinstance(member, (staticmethod,
                                                                       classmethod))):
                    continue
                target = member.__func__ if isinstance(member, (staticmethod, classmethod)) \
                    else member
                summary = _first_paragraph(getattr(target, "__doc__", None))
                lines.append(f"- `{attr}`: {summary or '(undocumented)'}")
            lines.append("")
    lines += render_op_table()
    return "\n".join(lines).rstrip() + "\n"


def render_op_table() -> list[str]:
    """The built-in ops, read from the op table (tinygrad_lite.optable): one row each."""
    from tinygrad_lite.optable import OPS

    def cell(text: str) -> str:
        for slot in ("x", "a", "b", "p"):  # the templates' operands, named as in the tooltips
            text = text.replace("{" + slot + "}", slot)
        return text.replace("|", "\\|")

    lines = ["## Built-in ops", "",
             "Read from the op table, `tinygrad_lite.optable.OPS`, where each op is defined once.",
             "", "| op | drawn as | result | local derivatives | made by |",
             "| --- | --- | --- | --- | --- |"]
    for name, record in sorted(OPS.items()):
        if not record.builtin:
            continue
        made_by = getattr(record.apply, "__qualname__", str(record.apply))
        lines.append(f"| `{cell(name)}` | {cell(record.symbol)} | {cell(record.formula)} | "
                     f"{cell('; '.join(record.derivative_formulas))} | `{made_by}` |")
    return lines + [""]


def test_api_reference_is_current():
    expected = render_api_reference()
    actual = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert actual == expected, "docs/api.md is stale: run `python tests/test_docs.py --write-api`"


def test_every_public_name_has_a_docstring():
    import tinygrad_lite

    missing = [n for n in tinygrad_lite.__all__
               if not n.startswith("__") and not inspect.getdoc(getattr(tinygrad_lite, n))]
    assert not missing, f"public names without a docstring: {missing}"


def test_constants_are_described_by_their_own_comment_not_their_types_docstring():
    import tinygrad_lite

    reference = render_api_reference()
    for name in ("ACTIVATIONS", "COSTS"):
        obj = getattr(tinygrad_lite, name)
        section = reference.split(f"## `{name}`")[1].split("\n## ")[0]
        assert _first_paragraph(type(obj).__doc__)[:30] not in section
        assert "*constant in `tinygrad_lite." in section
    assert "Valid activation names" in reference and "Keys: `quadratic`, `cross-entropy`" in reference


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-api"]:
        sys.path.insert(0, str(ROOT))
        (ROOT / "docs" / "api.md").write_text(render_api_reference(), encoding="utf-8")
        print("wrote docs/api.md")
    else:
        print(__doc__)
