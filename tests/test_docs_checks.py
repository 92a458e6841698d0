"""The docs site's checks (docs/_ext/migravity_docs.py), without building the site.

The Sphinx build (``.ci/run``) runs them over the real pages; here they are checked to catch what they
should: an undocumented public name, a fenced Python block that would not run. Skipped where the docs
extra (Sphinx) is not installed.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _extension():
    spec = importlib.util.spec_from_file_location("migravity_docs", DOCS / "_ext" / "migravity_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["migravity_docs"] = module
    spec.loader.exec_module(module)
    return module


def test_every_public_class_and_function_has_a_docstring() -> None:
    ext = _extension()
    missing = []
    for module in ext.PUBLIC_MODULES:
        for name in ext._public_names(module):
            obj = getattr(importlib.import_module(module), name)
            if inspect.isclass(obj):
                if not obj.__dict__.get("__doc__"):
                    missing.append(f"{module}.{name}")
                missing += [f"{module}.{name}.{a}" for a, m in vars(obj).items()
                            if not a.startswith("_") and (inspect.isfunction(m) or isinstance(m, property))
                            and not m.__doc__]
            elif inspect.isfunction(obj) and not obj.__doc__:
                missing.append(f"{module}.{name}")
    assert missing == []


def test_every_public_name_gets_an_api_page_entry() -> None:
    ext = _extension()
    for module in ext.PUBLIC_MODULES:
        page = ext._api_page(module)
        for name in ext._public_names(module):
            assert ext._home(module, name) in page, (module, name)


def test_a_fenced_python_block_is_reported_and_a_code_cell_is_not() -> None:
    ext = _extension()
    assert ext._FENCE.search("text\n```python\nimport migravity\n```\n")
    assert ext._FENCE.search("~~~pycon\n>>> 1\n~~~\n")
    assert not ext._FENCE.search("```{code-cell} ipython3\nimport migravity\n```\n")
    assert not ext._FENCE.search("```bash\nmigravity report\n```\n")


def test_no_page_has_a_fenced_python_block() -> None:
    ext = _extension()
    pages = [p for p in DOCS.rglob("*.md") if "_build" not in p.parts and "_generated" not in p.parts]
    assert pages
    assert [str(p) for p in pages if ext._FENCE.search(p.read_text(encoding="utf-8"))] == []
