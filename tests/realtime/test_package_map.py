"""The map of the package in ``realtime/__init__.py`` names every module, so it stays true as modules come and go."""

from __future__ import annotations

import pkgutil

import realtime


def map_entries() -> dict[str, str]:
    """Each line of the map by the dotted name it starts with (relative to ``realtime``)."""
    lines = [line.strip() for line in (realtime.__doc__ or "").splitlines() if line.startswith("    ")]
    return {line.split()[0]: line for line in lines}


def test_every_module_is_on_the_map():
    """Each module has its own line, or is named in ``backticks`` on its package's line (backends, commands)."""
    entries = map_entries()
    missing = []
    for module in pkgutil.walk_packages(realtime.__path__, "realtime."):
        name = module.name.removeprefix("realtime.")
        parent, _, leaf = name.rpartition(".")
        if "migrations" in name.split("."):
            continue
        if module.ispkg:
            if not any(entry == name or entry.startswith(f"{name}.") for entry in entries):
                missing.append(name)
        elif name not in entries and f"``{leaf}``" not in entries.get(parent, ""):
            missing.append(name)
    assert missing == [], f"add a line for each to the map in realtime/__init__.py: {missing}"
