"""The ``sipid`` BOSH package a release needs once its jobs call sipid: its spec, its packaging
script, and the commands the maintainer runs once to bring in what the tool cannot (the source, and
a Go toolchain when the release has no usable one).

No public release publishes a sipid package to vendor, so the package compiles sipid from source
on the compilation VM. The source is a git submodule under ``src/github.com/cloudfoundry/sipid``;
BOSH copies the files the spec names, relative to ``src/``, into the compile folder. sipid predates
Go modules and needs only Go's standard library, so it is built in GOPATH mode (``GO111MODULE=off``),
which every Go from 1.7 on supports and which never reaches the network.
"""

from __future__ import annotations

from migrator.release_go import GOLANG_RELEASE_URL, GoPackage

NAME = "sipid"
IMPORT_PATH = "github.com/cloudfoundry/sipid"
SOURCE_URL = f"https://{IMPORT_PATH}"
SUBMODULE_PATH = f"src/{IMPORT_PATH}"
GOLANG_CHECKOUT = "~/workspace/bosh-package-golang-release"


def spec(go: GoPackage) -> str:
    return (
        "---\n"
        f"# sipid ({SOURCE_URL}), compiled from source: the jobs call\n"
        f"# /var/vcap/packages/{NAME}/bin/{NAME}. Added by exemplar-migrate.\n"
        f"name: {NAME}\n"
        "\n"
        "dependencies:\n"
        f"- {go.name}\n"
        "\n"
        "files:\n"
        f"- {IMPORT_PATH}/**/*.go\n"
    )


def _go_setup(go: GoPackage) -> str:
    if go.compile_env:
        return (
            f"# Go from the {go.name} package (BOSH golang release): its compile.env sets GOROOT and PATH.\n"
            f'source "${{BOSH_PACKAGES_DIR:-/var/vcap/packages}}/{go.name}/bosh/compile.env"\n'
        )
    return (
        f"# Go from the release's {go.name} package, which installs a Go distribution at its root.\n"
        f'GOROOT="$(readlink -nf "${{BOSH_PACKAGES_DIR:-/var/vcap/packages}}/{go.name}")"\n'
        "export GOROOT\n"
        'export PATH="${GOROOT}/bin:${PATH}"\n'
    )


def packaging(go: GoPackage) -> str:
    return (
        "# Compiles sipid on the BOSH compilation VM into ${BOSH_INSTALL_TARGET}/bin/sipid.\n"
        "# Added by exemplar-migrate. The source comes from the release's src/ folder; add it once with\n"
        f"#   git submodule add {SOURCE_URL} {SUBMODULE_PATH}\n"
        "set -e -o pipefail\n"
        "\n"
        f"{_go_setup(go)}"
        "set -u\n"
        "\n"
        f'source_dir="${{PWD}}/{IMPORT_PATH}"\n'
        'if [ ! -f "${source_dir}/main.go" ]; then\n'
        f'  echo "sipid: no source in {SUBMODULE_PATH} (git submodule add {SOURCE_URL} {SUBMODULE_PATH})" >&2\n'
        "  exit 1\n"
        "fi\n"
        "\n"
        "# sipid has no go.mod and uses only the standard library: GOPATH mode, no network.\n"
        'export GOPATH="${PWD}/gopath"\n'
        'export GOCACHE="${PWD}/gocache"\n'
        "export GO111MODULE=off\n"
        "export CGO_ENABLED=0\n"
        f'mkdir -p "${{GOPATH}}/src/{IMPORT_PATH.rsplit("/", 1)[0]}"\n'
        f'cp -a "${{source_dir}}" "${{GOPATH}}/src/{IMPORT_PATH}"\n'
        "\n"
        'mkdir -p "${BOSH_INSTALL_TARGET}/bin"\n'
        f'go build -o "${{BOSH_INSTALL_TARGET}}/bin/{NAME}" {IMPORT_PATH}\n'
    )


def files(go: GoPackage) -> dict[str, str]:
    """The package's files, relative to the release root."""
    return {f"packages/{NAME}/packaging": packaging(go), f"packages/{NAME}/spec": spec(go)}


def commands(go: GoPackage, go_present: bool, source_present: bool) -> list[str]:
    """What the maintainer runs once in the release (before ``bosh create-release``)."""
    out: list[str] = []
    if not source_present:
        out.append(f"git submodule add {SOURCE_URL} {SUBMODULE_PATH}")
    if not go_present:
        out.append(f"git clone {GOLANG_RELEASE_URL} {GOLANG_CHECKOUT}")
        out.append(f"bosh vendor-package {go.name} {GOLANG_CHECKOUT}")
    return out
