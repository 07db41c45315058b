"""Project configuration: ``[tool.exemplar-migrate]`` in pyproject.toml or ``.exemplar-migrate.toml``."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Config:
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    sipid_path: str | None = None
    source: Path | None = None


_KEYS = {"select", "ignore", "sipid-path"}


def load_config(release_root: Path) -> Config:
    """Read the release's config; ``.exemplar-migrate.toml`` wins over ``pyproject.toml``."""
    dedicated = release_root / ".exemplar-migrate.toml"
    pyproject = release_root / "pyproject.toml"
    table: dict = {}
    source = None
    try:
        if dedicated.is_file():
            table, source = tomllib.loads(dedicated.read_text(encoding="utf-8")), dedicated
            table = table.get("tool", {}).get("exemplar-migrate", table)
        elif pyproject.is_file():
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            if "exemplar-migrate" in data.get("tool", {}):
                table, source = data["tool"]["exemplar-migrate"], pyproject
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise ConfigError(f"{source or dedicated}: cannot read config: {exc}") from exc
    unknown = set(table) - _KEYS
    if unknown:
        raise ConfigError(f"{source}: unknown setting(s): {', '.join(sorted(unknown))}")
    for key in ("select", "ignore"):
        if key in table and not (isinstance(table[key], list) and all(isinstance(x, str) for x in table[key])):
            raise ConfigError(f"{source}: '{key}' must be a list of codemod ids")
    if "sipid-path" in table and not isinstance(table["sipid-path"], str):
        raise ConfigError(f"{source}: 'sipid-path' must be a string")
    return Config(table.get("select", []), table.get("ignore", []), table.get("sipid-path"), source)
