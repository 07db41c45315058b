"""Project configuration: ``[tool.exemplar-migrate]`` in pyproject.toml or ``.exemplar-migrate.toml``."""

from __future__ import annotations

import re
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
    if dedicated.is_file():
        table, source = _read_toml(dedicated), dedicated
        table = table.get("tool", {}).get("exemplar-migrate", table)
    elif pyproject.is_file():
        data = _read_toml(pyproject)
        if "exemplar-migrate" in data.get("tool", {}):
            table, source = data["tool"]["exemplar-migrate"], pyproject
    unknown = set(table) - _KEYS
    if unknown:
        raise ConfigError(f"{source}: unknown setting(s): {', '.join(sorted(unknown))}")
    for key in ("select", "ignore"):
        if key in table and not (isinstance(table[key], list) and all(isinstance(x, str) for x in table[key])):
            raise ConfigError(f"{source}: '{key}' must be a list of codemod ids")
    if "sipid-path" in table and not isinstance(table["sipid-path"], str):
        raise ConfigError(f"{source}: 'sipid-path' must be a string")
    return Config(table.get("select", []), table.get("ignore", []), table.get("sipid-path"), source)


_AT_LINE = re.compile(r"\s*\(at (?:line (\d+), column \d+|end of document)\)$")


def _read_toml(path: Path) -> dict:
    """The file parsed; errors name this file and the line (``path:line: ...``), like a compiler."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 (byte 0x{data[exc.start]:02x})") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        m = _AT_LINE.search(message)
        line = (m.group(1) or len(text.splitlines())) if m else None
        where = f"{path}:{line}" if line else str(path)
        raise ConfigError(f"{where}: not valid TOML: {_AT_LINE.sub('', message)}") from exc
