"""Which Go toolchain package a release already ships, so a new package can compile with it.

Releases carry Go in two shapes. Most vendor it from the BOSH golang release (``bosh vendor-package``
leaves ``packages/golang-1.x-linux/spec.lock``), whose package installs ``bosh/compile.env`` that
sets ``GOROOT`` and ``PATH``. Older ones ship their own package that unpacks a Go tarball into its
install folder (``packages/golang/spec`` listing ``go1.9.linux-amd64.tar.gz``), so ``bin/go`` sits
at the package root. sipid uses ``context`` and ``http.Request.WithContext``: it needs Go 1.7 or
later, so an older toolchain is not used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

#: the golang line a release vendors when it has no usable Go: always the newest Go 1.x
DEFAULT_GO_PACKAGE = "golang-1-linux"
GOLANG_RELEASE_URL = "https://github.com/cloudfoundry/bosh-package-golang-release"
MIN_GO = (1, 7)

#: go, golang, golang-1-linux, golang-1.26-linux, golang1.11.2, golang-1.5 (never -darwin, -windows, gogs)
_GO_NAME = re.compile(r"^go(?:lang)?(?:[-_]?(?P<version>\d+(?:\.\d+)*))?(?:-linux)?$")
_TARBALL_VERSION = re.compile(r"\bgo(\d+)\.(\d+)(?:\.\d+)?\.linux-")


@dataclass(frozen=True)
class GoPackage:
    """A Go toolchain package: its name, how a packaging script reaches it, what it is known to be."""

    name: str
    compile_env: bool  # provides bosh/compile.env (the BOSH golang release's packages)
    version: tuple[int, int] | None = None  # major, minor when the name or the tarball says

    @property
    def too_old(self) -> bool:
        return self.version is not None and self.version < MIN_GO


def _version_of(name: str, package_dir: Path) -> tuple[int, int] | None:
    match = _GO_NAME.match(name)
    digits = match["version"] if match and match["version"] else None
    if digits:
        parts = [int(p) for p in digits.split(".")]
        # golang-1-linux tracks the newest Go 1.x: unknown minor, never too old
        return (parts[0], parts[1]) if len(parts) > 1 else None
    try:
        text = (package_dir / "spec").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    tarball = _TARBALL_VERSION.search(text)
    return (int(tarball[1]), int(tarball[2])) if tarball else None


def _has_compile_env(package_dir: Path) -> bool:
    if (package_dir / "spec.lock").is_file():
        return True  # vendored from the BOSH golang release
    try:
        packaging = (package_dir / "packaging").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return "compile.env" in packaging


def _is_toolchain(package_dir: Path) -> bool:
    """A package named like Go that really is a toolchain: vendored, or its spec ships a Go tarball."""
    if (package_dir / "spec.lock").is_file():
        try:
            lock = yaml.safe_load((package_dir / "spec.lock").read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            return False
        return isinstance(lock, dict) and str(lock.get("name", "")).startswith("golang")
    try:
        spec = (package_dir / "spec").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return bool(re.search(r"\bgo\d+(?:\.\d+)*\.linux-[\w-]+\.tar\.gz", spec)) or _has_compile_env(package_dir)


def go_packages(release_root: Path) -> list[GoPackage]:
    """Every Go toolchain for Linux the release ships, best first: compile.env packages before
    tarball ones, newer before older (golang-1-linux, the newest line, first of all)."""
    packages_dir = release_root / "packages"
    try:
        names = sorted(p.name for p in packages_dir.iterdir() if p.is_dir())
    except OSError:
        return []
    found = [GoPackage(name, _has_compile_env(packages_dir / name), _version_of(name, packages_dir / name))
             for name in names if _GO_NAME.match(name) and _is_toolchain(packages_dir / name)]
    return sorted(found, key=lambda g: (not g.compile_env, tuple(-v for v in (g.version or (1, 10**6)))))


def choose(release_root: Path) -> tuple[GoPackage, GoPackage | None]:
    """The Go to compile with, and the release's own one that was passed over for being too old
    (None when the release's own Go is used or it has none). Without a usable one: the BOSH golang
    release's newest line, which the maintainer vendors."""
    candidates = go_packages(release_root)
    usable = [g for g in candidates if not g.too_old]
    if usable:
        return usable[0], None
    return GoPackage(DEFAULT_GO_PACKAGE, True), candidates[0] if candidates else None
