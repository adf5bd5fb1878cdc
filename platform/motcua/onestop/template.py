"""``motcua adapters new NAME``: render a new adapter distribution from the template shipped in
``motcua/onestop/template/``. The rendered family works out of the box (lookups and a change
feed over a small JSON protocol, with its sandbox and the conformance suite wired in), so an
author starts from green tests and changes one piece at a time."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

NAME = re.compile(r"^[a-z][a-z0-9_]{1,30}$")

# template file -> path in the new distribution ({pkg} is the import package)
FILES: dict[str, str] = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "init.py.tmpl": "{pkg}/__init__.py",
    "plugin.py.tmpl": "{pkg}/plugin.py",
    "adapter.py.tmpl": "{pkg}/adapter.py",
    "wire.py.tmpl": "{pkg}/wire.py",
    "mapping.py.tmpl": "{pkg}/mapping.py",
    "sandbox.py.tmpl": "{pkg}/sandbox.py",
    "test_conformance.py.tmpl": "tests/test_{family}_conformance.py",
    "test_mapping.py.tmpl": "tests/test_{family}_mapping.py",
    "example.toml.tmpl": "examples/example.toml",
}


def render_adapter(name: str, directory: Path | str) -> Path:
    """Write ``motcua-<name>/`` under ``directory`` and return its path. ``name`` is the family:
    lower-case letters, digits and underscores (hyphens are read as underscores)."""
    family = name.strip().lower().replace("-", "_")
    if not NAME.match(family):
        raise ValueError(f"'{name}' is not a usable family name: use lower-case letters, digits and '_'")
    target = Path(directory) / f"motcua-{family.replace('_', '-')}"
    if target.exists():
        raise FileExistsError(f"{target} already exists; nothing was written")
    camel = "".join(part.capitalize() for part in family.split("_"))
    source = resources.files("motcua.onestop") / "template"
    for template, out in FILES.items():
        text = (source / template).read_text(encoding="utf-8")
        text = text.replace("__family__", family).replace("__Family__", camel)
        path = target / out.format(pkg=f"motcua_{family}", family=family)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target
