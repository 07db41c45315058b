"""Stand-ins that log every external command a script starts, for comparing two scripts' runs.

Every command a rendered script names (found with tree-sitter, so names in functions, pipelines and
command substitutions count) is replaced by a small ``/bin/sh`` stub first on PATH that appends one
record to a log: the call's place in the script's order, its pid, the shell functions it was
called from, whether its stdin/stdout were pipes, and its argv. Absolute ``/var/vcap/packages/...``
programs get the same stub at their sandbox path. A few tools that only touch the sandbox run for
real behind the same logging (``mkdir``, ``cat``, ``rm``, ...), so files a script writes and reads
still exist; ``sleep`` returns at once and ``kill -0`` always says "no such process", so polling
loops end the same way in every run.

Order: pipeline members and process substitutions start concurrently, so the time a record is
written says little. Every bash the harness starts reads ``BASH_ENV``, whose DEBUG trap numbers
each simple command before it runs and exports the number; each stub logs it, and sorting by it
restores the script's own order. A subshell (``$(...)``, ``>(...)``) numbers its commands under
the command that started it and its own pid (``.4.PID.2``: the second command of a subshell of
the fourth command), since one command may start several subshells, one after another, and a
parent forks its children in program order. The same file disables the ``kill`` and ``ulimit`` builtins (so the stubs
answer) and logs calls of commands that exist nowhere (``command_not_found_handle``).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Iterable

from migrator.document import Document
from migrator.helpers import expand_path, literal_assignments

US, GS = "\x1f", "\x1d"  # field and record separators in the call log

#: bash's builtins and keywords: never stubbed (``kill`` and ``ulimit`` are, see BASH_ENV)
BUILTINS = frozenset(
    ". : [ alias bg bind break builtin caller cd command compgen complete compopt continue declare dirs "
    "disown echo enable eval exec exit export false fc fg getopts hash help history jobs let local logout "
    "mapfile popd printf pushd pwd read readarray readonly return set shift shopt source suspend test times "
    "trap true type typeset umask unalias unset wait if then else elif fi case esac for select while until "
    "do done in function time { } ! [[ ]] coproc".split()
)

#: tools that only act on the paths they are given (all inside the sandbox): run for real, logged
REAL = frozenset(
    "mkdir cat rm touch basename dirname cp mv ln chmod readlink realpath head tail wc tr cut sort uniq seq "
    "expr env nohup setsid nice timeout xargs grep egrep fgrep sed bash sh dash stat cmp diff install mkfifo "
    "sync".split()
)

# a missing file is an error for chown/chgrp, as for the real ones (a pidfile chowned before it exists)
_CHOWN = (
    'o=; for a do case "$a" in -*) ;; *) if [ -z "$o" ]; then o=1; elif [ ! -e "$a" ] && [ ! -L "$a" ]; then '
    'echo "chown: cannot access $a: No such file or directory" >&2; exit 1; fi ;; esac; done\nexit 0'
)

# Processes: a pid that a pidfile held when ``stop`` began (the harness marks it) is alive for three
# more checks, or until a signal other than 0 reaches it; any other pid is gone.
_PROCESSES = (
    'alive() { f="$D/alive.$1"; [ -f "$f" ] || return 1; read n < "$f"; n=$((n - 1)); '
    'if [ "$n" -le 0 ]; then /bin/rm -f "$f"; else echo "$n" > "$f"; fi; return 0; }\n'
    'signalled() { f="$D/alive.$1"; [ -f "$f" ] || return 1; /bin/rm -f "$f"; }\n'
)

#: what some stubs print or answer, so scripts that read them take one deterministic path
_BEHAVIOUR = {
    "sleep": "exit 0",
    "kill": _PROCESSES + 'sig=TERM; while [ $# -gt 0 ]; do case "$1" in -s|-n) sig=$2; shift 2 ;; --) shift; break ;; '
    '-l|-L) exit 0 ;; -*) sig=${1#-}; shift ;; *) break ;; esac; done\n'
    '[ $# -gt 0 ] || { echo "kill: usage: kill [-s sigspec | -n signum | -sigspec] pid | jobspec ..." >&2; exit 2; }\n'
    'rc=0; for p do if [ "$sig" = 0 ] || [ "$sig" = SIG0 ]; then alive "$p" || rc=1; else signalled "$p" || rc=1; fi; done\n'
    'exit $rc',
    "pgrep": "exit 1",
    "ps": _PROCESSES + 'p=; for a do [ "$p" = 1 ] && p=$a; case "$a" in -p|--pid|p) p=1 ;; esac; done\n'
    '[ -n "$p" ] && [ "$p" != 1 ] && { alive "$p"; exit; }\nexit 0',
    "pidof": "exit 1",
    "curl": 'case "$*" in *http_code*) printf 200 ;; esac\nexit 0',
    "date": 'case "$*" in *%s*) echo 1577836800 ;; *) echo "Wed Jan  1 00:00:00 UTC 2020" ;; esac',
    "id": 'case "$*" in *-un*|*-nu*) echo root ;; *-u*|*-g*) echo 0 ;; *) echo "uid=0(root) gid=0(root)" ;; esac',
    "whoami": "echo root",
    "hostname": "echo test-host",
    "nproc": "echo 2",
    "uname": 'case "$*" in *-m*) echo x86_64 ;; *) echo Linux ;; esac',
    # runit's chpst: drop the user options and run the rest (the job's own program, usually)
    "chpst": 'while [ $# -gt 0 ]; do case "$1" in -u|-U|-e|-/|-n|-l|-L|-m|-d|-o|-p|-f|-c|-r|-t) shift 2 ;; '
    '-*) shift ;; *) break ;; esac; done\n[ $# -gt 0 ] && exec "$@"\nexit 0',
    "chown": _CHOWN,
    "chgrp": _CHOWN,
}

# Stub bodies call real tools by absolute path: a name on PATH would be a logging stub itself.

#: sipid, as DESIGN.md section 4 describes what its callers see (no process is ever signalled)
_SIPID = """\
cmd=$1; shift; pid=; file=
while [ $# -gt 0 ]; do case "$1" in --pid) pid=$2; shift 2 ;; --pid-file) file=$2; shift 2 ;; *) shift ;; esac; done
case "$cmd" in
  claim) /bin/mkdir -p "${file%/*}" && printf %s "$pid" > "$file" ;;
  kill) [ -f "$file" ] || { echo "sipid: no pid file $file" >&2; exit 1; }
    read p < "$file"; /bin/rm -f "$D/alive.$p" "$file" ;;
esac
exit 0
"""

_HEAD = """#!/bin/sh
D='{dir}'
echo $$ >> "$D/pids"
p=; [ -p /dev/stdin ] && p=i; [ -p /dev/stdout ] && p=${{p}}o
r="${{__SEQ:-}}{us}$${us}${{__FN:-}}{us}$p{us}{kind}{us}{name}"
for a do r="$r{us}$a"; done
printf '%s{gs}\\n' "$r" >> "$D/calls"
"""

_DRAIN = '[ -p /dev/stdin ] && /bin/cat > /dev/null\n'
_ENV_DUMP = '/usr/bin/env -0 > "$D/env.$$"\n'

BASH_ENV = """\
# read by every bash the equivalence harness starts: number each command, log unknown ones
echo $$ >> "$__EQ_DIR/pids"
__eq_base=${__SEQ:-}.$$; __eq_n=0; __eq_pid=$BASHPID
__eq_trap() {
  if [[ $BASHPID != "$__eq_pid" ]]; then __eq_base=${__SEQ:-}.$BASHPID; __eq_n=0; __eq_pid=$BASHPID; fi
  __eq_n=$((__eq_n + 1))
  export __SEQ="$__eq_base.$__eq_n" __FN="${FUNCNAME[*]:1}"
}
set -T
trap __eq_trap DEBUG
enable -n kill ulimit
command_not_found_handle() { "$__EQ_DIR/notfound" "$@"; return 127; }
if [[ -n ${__EQ_POSIX:-} ]]; then unset __EQ_POSIX; set -o posix; fi
"""


def _stub_text(dir_: Path, kind: str, body: str) -> str:
    return _HEAD.format(dir=dir_, us=US, gs=GS, kind=kind, name="$0") + body + "\n"


def write_stub(target: Path, log_dir: Path, name: str, *, env_dump: bool = False) -> None:
    """A logging stand-in for ``name`` at ``target`` (a tool on PATH, or a package's program)."""
    if name == "sipid":
        body = _SIPID
    elif name in _BEHAVIOUR:
        body = _BEHAVIOUR[name]
    else:
        body = _DRAIN + "exit 0"
    _write(target, _stub_text(log_dir, "stub", (_ENV_DUMP if env_dump else "") + body))


def write_real(target: Path, log_dir: Path, real: str) -> None:
    """A logging wrapper that runs the real tool."""
    _write(target, _stub_text(log_dir, "real", f'exec {real} "$@"'))


def write_not_found(target: Path, log_dir: Path) -> None:
    """Logs a call of a command that exists nowhere, named as called."""
    head = _HEAD.format(dir=log_dir, us=US, gs=GS, kind="notfound", name="$n")
    _write(target, head.replace("#!/bin/sh\n", "#!/bin/sh\nn=$1; shift\n", 1) + 'echo "$n: command not found" >&2\nexit 127\n')


def _write(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    target.chmod(0o755)


def real_path(name: str) -> str | None:
    return shutil.which(name, path="/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")


# -- which commands a script names -------------------------------------------------------------
#: commands that run another command: (options that take a value, how many plain words come before it)
_WRAPPERS: dict[str, tuple[frozenset[str], int]] = {
    "exec": (frozenset({"-a"}), 0),
    "command": (frozenset(), 0),
    "builtin": (frozenset(), 0),
    "time": (frozenset(), 0),
    "nohup": (frozenset(), 0),
    "setsid": (frozenset(), 0),
    "nice": (frozenset({"-n"}), 0),
    "ionice": (frozenset({"-c", "-n", "-p"}), 0),
    "timeout": (frozenset({"-s", "-k", "--signal", "--kill-after"}), 1),
    "env": (frozenset({"-u", "-C", "-S"}), 0),
    "sudo": (frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-R", "-T", "-U"}), 0),
    "chpst": (frozenset({"-u", "-U", "-e", "-/", "-n", "-l", "-L", "-m", "-d", "-o", "-p", "-f", "-c", "-r", "-t"}), 0),
    "taskset": (frozenset(), 1),
    "xargs": (frozenset({"-I", "-n", "-P", "-d", "-L", "-s", "-E"}), 0),
}
_PACKAGE_PROGRAM = re.compile(r"/var/vcap/packages/[\w.+-]+/s?bin/[\w.+-]+")


def command_names(texts: Iterable[str]) -> tuple[set[str], set[str]]:
    """(command names, shell functions defined) across the given rendered scripts.

    A name written with variables (``$PKG/bin/x``) is expanded with the literal values the script
    assigns, so package programs called through a variable get a stub too; so does the program a
    wrapper runs (``exec chpst -u vcap /var/vcap/packages/x/bin/x``) and any package ``bin/`` path
    the text mentions.
    """
    names: set[str] = set()
    functions: set[str] = set()
    for text in texts:
        doc = Document.parse("script", text.encode("utf-8", "replace"))
        assignments = literal_assignments(text) if "$" in text else {}
        for node in doc.find("command"):
            words = _words(doc, node)
            while words:
                name = _expanded(words[0], assignments)
                if name:
                    names.add(name)
                if words[0] not in _WRAPPERS:
                    break
                words = _wrapped(words)
        for node in doc.find("function_definition"):
            fname = node.child_by_field_name("name")
            if fname is not None:
                functions.add(doc.node_text(fname))
        names |= set(_PACKAGE_PROGRAM.findall(text))
    return names, functions


def _words(doc: Document, node) -> list[str]:
    name = node.child_by_field_name("name")
    if name is None:
        return []
    return [doc.masked_text(name).strip("\"'")] + [doc.masked_text(a).strip("\"'")
                                                   for a in node.children_by_field_name("argument")]


def _expanded(word: str, assignments: dict[str, str]) -> str | None:
    if "$" in word:
        word = expand_path(word, assignments)
    return None if not word or "$" in word or "`" in word else word


def _wrapped(words: list[str]) -> list[str]:
    """The command a wrapper runs: its words after the wrapper's own options."""
    valued, plain = _WRAPPERS[words[0]]
    rest = words[1:]
    while rest and (rest[0].startswith("-") or (words[0] == "env" and "=" in rest[0])):
        rest = rest[2:] if rest[0] in valued else rest[1:]
    return rest[plain:]


def install_stubs(bin_dir: Path, log_dir: Path, names: Iterable[str], vcap_target) -> None:
    """Stub or wrap every named command: plain names on ``bin_dir`` (first on PATH), absolute
    ``/var/vcap/`` programs at ``vcap_target(path)`` unless a job file is installed there."""
    for name in sorted(set(names) | {"kill", "ulimit", "sleep"}):
        if name in BUILTINS - {"kill", "ulimit"} or not name or name.startswith("-"):
            continue
        if "/" in name:
            if name.startswith("/var/vcap/") and not name.endswith("/"):
                target = vcap_target(name)
                if not target.exists():
                    base = name.rsplit("/", 1)[-1]
                    write_stub(target, log_dir, base, env_dump=name.startswith("/var/vcap/packages/"))
            continue
        if not _plain(name):
            continue
        real = real_path(name) if name in REAL else None
        if real:
            write_real(bin_dir / name, log_dir, real)
        else:
            write_stub(bin_dir / name, log_dir, name)
    write_not_found(log_dir / "notfound", log_dir)


def _plain(name: str) -> bool:
    return all(c.isalnum() or c in "._+-@:" for c in name)
