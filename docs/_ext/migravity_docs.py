"""Sphinx extension of the migravity docs: pages generated from the code, and the checks that fail the build.

At ``builder-inited`` (before autosummary generates its stubs):

- ``api/<module>.rst``: one API page per public module (:data:`PUBLIC_MODULES`), an autosummary table of
  every name in the module's ``__all__``, each documented at its defining module's path (so the
  cross-references that autodoc writes for signatures resolve);
- ``_generated/registry_table.md``: the data registry (:mod:`migravity.geodata.registry`) and the shipped
  bundle's coverage, as a Markdown table included by ``data.md``;
- ``_generated/cli_reference.md``: ``migravity [COMMAND ...] --help`` of every command and subcommand, run
  through the typer app (``migravity.cli.app``), included by ``cli.md``.

At ``env-check-consistency`` (after every page is read, so a failure is a warning and ``-W`` fails the build):

- the public API is complete: every class and function named in a public module's ``__all__`` has its
  own docstring, and every name of every ``__all__`` is documented in the API reference;
- every Python example is executed: a fenced ```` ```python ```` block (not a ``{code-cell}``) in any page
  is reported, since only the notebooks' code cells run at build time.

``env-before-read-docs`` reads the gallery last, after the tutorials whose figures it shows.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: The modules whose ``__all__`` is the public API (each gets an API page).
PUBLIC_MODULES: tuple[str, ...] = (
    "migravity",
    "migravity.errors",
    "migravity.engine",
    "migravity.geodata",
    "migravity.analysis",
    "migravity.scenarios",
    "migravity.outputs",
)
#: Further modules documented whole on the API pages (``__all__`` of the module), beside the packages.
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "migravity.outputs": ("migravity.outputs.export",),
}
#: Pages read after all others (they show figures the tutorials write).
READ_LAST: tuple[str, ...] = ("gallery",)

_FENCE = re.compile(r"^\s*(```+|~~~+)\s*(python|py|python3|pycon|ipython|ipython3)\s*$", re.MULTILINE)


def _public_names(module: str) -> list[str]:
    mod = importlib.import_module(module)
    return [n for n in getattr(mod, "__all__", ()) if not n.startswith("__")]


def _canonical(module: str, name: str) -> tuple[str, str]:
    """The documented (public) path of ``module.name`` and its kind (``callable`` or ``data``)."""
    obj = getattr(importlib.import_module(module), name)
    kind = "callable" if inspect.isclass(obj) or inspect.isfunction(obj) else "data"
    return f"{module}.{name}", kind


def _home(module: str, name: str) -> str:
    """Where ``module.name`` is documented: its own module's path, or another public module's that exports it."""
    obj = getattr(importlib.import_module(module), name)
    if inspect.isclass(obj) or inspect.isfunction(obj):
        return _documented().get(id(obj), f"{module}.{name}")
    return f"{module}.{name}"


_DOCUMENTED: dict[int, str] = {}


def _documented() -> dict[int, str]:
    """``id(object) -> documented path`` for every public class and function (first public module wins)."""
    if not _DOCUMENTED:
        for module in (*PUBLIC_MODULES[1:], PUBLIC_MODULES[0]):
            for mod in (module, *EXTRA_MODULES.get(module, ())):
                for name in _public_names(mod):
                    obj = getattr(importlib.import_module(mod), name)
                    if inspect.isclass(obj) or inspect.isfunction(obj):
                        _DOCUMENTED.setdefault(id(obj), f"{mod}.{name}")
    return _DOCUMENTED


def _lookup(target: str) -> Any:
    """The object a dotted path names (longest importable module, then attributes), or ``None``."""
    parts = target.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def _api_page(module: str) -> str:
    mod = importlib.import_module(module)
    title = f"``{module}``"
    lines = [title, "=" * len(title), "", f".. automodule:: {module}", "   :no-members:", "",
             ".. py:currentmodule:: None", ""]
    groups: list[tuple[str, list[str]]] = []
    names = _public_names(module)
    here = [n for n in names if _home(module, n) == f"{module}.{n}"]
    elsewhere = [_home(module, n) for n in names if _home(module, n) != f"{module}.{n}"]
    callables = [_canonical(module, n)[0] for n in here if _canonical(module, n)[1] == "callable"]
    data = [_canonical(module, n)[0] for n in here if _canonical(module, n)[1] == "data"]
    groups.append(("Classes and functions", callables))
    groups.append(("Constants", data))
    if elsewhere:
        lines += ["Also exported here (documented with their modules): "
                  + ", ".join(f":py:obj:`{path}`" for path in elsewhere) + ".", ""]
    for extra in EXTRA_MODULES.get(module, ()):
        groups.append((f"Module ``{extra}``", [f"{extra}.{n}" for n in _public_names(extra)]))
    for heading, items in groups:
        if not items:
            continue
        lines += [heading, "-" * len(heading), "", ".. autosummary::", "   :toctree: generated",
                  "   :nosignatures:", ""]
        lines += [f"   {item}" for item in items]
        lines.append("")
    del mod
    return "\n".join(lines)


def _registry_table() -> str:
    from migravity.geodata.bundle import BUNDLE_VERSION, BUNDLED, bundle_manifest
    from migravity.geodata.registry import REGISTRY

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    manifest = bundle_manifest() or {}
    lines = [
        f"{len(REGISTRY)} datasets; {len(BUNDLED)} of them in the shipped bundle (version {BUNDLE_VERSION}; "
        f"{len(manifest.get('datasets', {}))} members in this installation's bundle).",
        "",
        "| dataset | title | publisher | vintage | coverage | licence | file | where the bytes came from "
        "| exact-bytes download | in the bundle |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in REGISTRY:  # the registry's own (thematic) order
        ds = REGISTRY[name]
        download = f"[yes]({ds.download_url})" if ds.download_url else "no (converted)"
        lines.append(
            f"| `{ds.name}` | [{cell(ds.title)}]({ds.landing_page}) | {cell(ds.publisher)} | {ds.vintage} "
            f"| {ds.coverage} | {cell(ds.licence)} | `{ds.filename}` | {cell(ds.notes) or '—'} | {download} "
            f"| {'yes' if name in BUNDLED else 'no'} |"
        )
    return "\n".join(lines) + "\n"


def _cli_reference() -> str:
    """Every command's ``--help``, run through the typer app, as Markdown sections."""
    from typer.main import get_command
    from typer.testing import CliRunner

    from migravity.cli import app

    runner = CliRunner()
    env = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}

    def walk(cmd: Any, path: list[str]) -> list[list[str]]:
        paths = [path]
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            if not getattr(sub, "hidden", False):
                paths += walk(sub, [*path, name])
        return paths

    parts = []
    for path in walk(get_command(app), []):
        result = runner.invoke(app, [*path, "--help"], env=env)
        if result.exit_code != 0:
            raise RuntimeError(f"migravity {' '.join(path)} --help exited with {result.exit_code}: {result.output}")
        text = "\n".join(line.rstrip() for line in result.output.strip("\n").splitlines())
        title = " ".join(["migravity", *path])
        parts.append(f"## `{title}`\n\n```text\n{text}\n```\n")
    return "\n".join(parts)


def generate(app: Sphinx) -> None:
    """Write the generated pages (API pages, registry table) into the source tree."""
    src = Path(app.srcdir)
    api = src / "api"
    api.mkdir(exist_ok=True)
    for module in PUBLIC_MODULES:
        path = api / f"{module}.rst"
        text = _api_page(module)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        # the environment listed the source files before this hook ran: on a fresh checkout (no page
        # written yet) autosummary would otherwise not see the page and generate no stub for it
        app.env.found_docs.add(f"api/{module}")
    gen = src / "_generated"
    gen.mkdir(exist_ok=True)
    for name, make in (("registry_table.md", _registry_table), ("cli_reference.md", _cli_reference)):
        path = gen / name
        text = make()
        if not path.exists() or path.read_text() != text:
            path.write_text(text)


def read_last(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    """Move the pages of :data:`READ_LAST` to the end of the reading order."""
    for name in READ_LAST:
        if name in docnames:
            docnames.remove(name)
            docnames.append(name)


def check_fences(app: Sphinx, docname: str, source: list[str]) -> None:
    """Report fenced Python blocks: examples must be ``{code-cell}``s so that they run."""
    for match in _FENCE.finditer(source[0]):
        line = source[0].count("\n", 0, match.start()) + 1
        logger.warning("%s:%d: a fenced %r block is not executed; write it as a {code-cell} in an executed page",
                       app.env.doc2path(docname), line, match.group(2))


def check_api(app: Sphinx, env: BuildEnvironment) -> None:
    """Fail (warn) on an undocumented public class or function, or a public name missing from the reference."""
    objects = env.domaindata["py"]["objects"]
    missing = 0
    for module in PUBLIC_MODULES:
        for name in _public_names(module):
            kind = _canonical(module, name)[1]
            path = _home(module, name)
            obj = getattr(importlib.import_module(module), name)
            if kind == "callable" and not (obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__):
                logger.warning("public API: %s.%s (%s) has no docstring", module, name, path)
                missing += 1
            if path not in objects:
                logger.warning("public API: %s.%s (%s) is not in the API reference", module, name, path)
                missing += 1
            if kind == "callable" and inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if attr.startswith("_") or not (inspect.isfunction(member) or isinstance(member, property)):
                        continue
                    doc = member.__doc__
                    if not doc:
                        logger.warning("public API: %s.%s has no docstring", path, attr)
                        missing += 1
    logger.info("public API check: %d problem(s)", missing)


def resolve_alias(app: Sphinx, env: BuildEnvironment, node: Any, contnode: Any) -> Any:
    """Resolve a Python reference autodoc or a docstring wrote to an object's defining module.

    A public object is documented at its public path (``migravity.geodata.ZoneSet``) while signatures
    name its defining module (``migravity.geodata.zones.ZoneSet``): such a reference is sent to the
    documented path by the object's identity. A reference to an existing migravity object that is not
    in the public reference (an internal module or helper) is shown as plain text; any other target
    stays unresolved, so nitpicky mode reports it.
    """
    if node.get("refdomain") != "py":
        return None
    domain = env.get_domain("py")
    target = node["reftarget"].lstrip("~.")
    module, cls = node.get("py:module") or "", node.get("py:class") or ""
    candidates = [target]
    if module:
        candidates.append(f"{module}.{target}")
        if cls:
            candidates.insert(0, f"{module}.{cls}.{target}")  # a member named in its own class's docstring

    def link(path: str) -> Any:
        return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], path, node, contnode)

    for candidate in candidates:
        if not candidate.startswith("migravity"):
            continue
        found = link(candidate) if candidate != target else None
        if found is not None:
            return found
        obj = _lookup(candidate)
        if obj is None:
            continue
        path = _documented().get(id(obj))
        return link(path) if path is not None else contnode
    # a name written by its short form in the defining module's docstring or signature (``PointRule``,
    # ``RunDir.zones``): looked up in every migravity module
    head, _, rest = target.partition(".")
    for mod in _all_modules():
        if head not in vars(mod):
            continue
        obj = vars(mod)[head]
        try:
            for attr in rest.split(".") if rest else ():
                obj = getattr(obj, attr)
        except AttributeError:
            continue
        path = _documented().get(id(obj))
        return link(path) if path is not None else contnode
    return None


_MODULES: list[Any] = []


def _all_modules() -> list[Any]:
    """Every module of the migravity package, imported (once)."""
    if not _MODULES:
        import pkgutil

        import migravity

        _MODULES.append(migravity)
        for info in pkgutil.walk_packages(migravity.__path__, "migravity."):
            if ".tests" in info.name or ".benchmarks" in info.name or info.name.endswith("__main__"):
                continue
            try:
                _MODULES.append(importlib.import_module(info.name))
            except Exception:
                continue
    return _MODULES


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the extension's hooks."""
    app.connect("builder-inited", generate, priority=400)  # before autosummary's stub generation (500)
    app.connect("env-before-read-docs", read_last)
    app.connect("source-read", check_fences)
    app.connect("env-check-consistency", check_api)
    app.connect("missing-reference", resolve_alias)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
