"""What the rest of a job says about one of its script templates (``erb-to-config``).

``erb-to-config`` transforms one script at a time, but whether a template may get an env file,
and under which name, depends on the whole job:

- a template the spec does not list is never rendered by BOSH (nor would its env file be);
- a template whose body is only assignments, or that another script of the job sources, is
  configuration already: moving its ERB into a second file adds a file and a spec entry and
  says nothing new;
- a template the job copies elsewhere (``cp``/``rsync``/``scp``/``install`` of the file or of a
  folder holding it: into a container, a chroot, another host, ``/etc/cron.hourly``) runs where
  ``/var/vcap/jobs/<job>/config`` may not exist;
- a template another program runs as a user other than root or vcap (a daemon's hook after it
  drops privileges, a path the job opens to other users) may not be able to read ``config/``;
- env template names are allocated for the whole job in one deterministic pass: two scripts with
  the same name in different folders (``bin/ssl2/x.sh``, ``bin/ssl3/x.sh``) each get a name of
  their own from the first run on, whatever order the scripts are seen in.

Everything here reads the job's texts as given (``JobContext.files``); nothing is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from codemods._erb_regions import is_assignment
from migrator.codemod import JobContext
from migrator.document import Document, command_name
from migrator.erb import mask, scan_tags
from migrator.helpers import expand_path, literal_assignments, per_job, source_commands

_COPIERS = {"cp", "rsync", "scp", "install"}
_ENV_SUFFIXES = ("env", "erb.env", "env2", "env3")


@dataclass(frozen=True)
class LeftAlone:
    """Why the template keeps its ERB, as a finding says it."""

    message: str
    suggestion: str | None
    severity: str  # "info" for templates that are fine as they are, "review" otherwise


def left_alone(job: JobContext, doc: Document) -> LeftAlone | None:
    """Why ``doc`` must keep its ERB whatever it holds, or None."""
    rendered = job.rendered_path(doc.path)
    if rendered is None and job.templates:
        return LeftAlone(
            "not listed in the spec's templates: BOSH never renders it (nor an env file made for it); "
            "no ERB was moved", "List it in the spec's templates if a script runs it, or delete it.", "review")
    if rendered is None:
        return None
    copied = copied_by(job, doc.path, rendered)
    if copied is not None:
        by, line, text = copied
        return LeftAlone(
            f"the job copies this script elsewhere ({by} line {line}: `{text}`), where "
            f"/var/vcap/jobs/{job.name}/config may not exist; no ERB was moved",
            "Render what the copy needs into the file itself (it is ERB already), or make the copy carry "
            "the env file too, then move the ERB by hand.", "review")
    other_user = run_as_another_user(job, doc.path, rendered)
    if other_user is not None:
        return LeftAlone(
            f"another program runs this script as another user ({other_user}); that user may not be able to "
            f"read /var/vcap/jobs/{job.name}/config, where a `source` of an env file would fail; no ERB was moved",
            "Keep the values in the script (it is ERB already), or give that user read access to the env file "
            "too, then move the ERB by hand.", "review")
    sourcer = sourced_by(job, doc.path, rendered)
    if sourcer is not None:
        return LeftAlone(f"configuration already: {sourcer} sources it, so its ERB is rendered where the job's "
                         "scripts read it; no env file was made", None, "info")
    if only_assignments(doc):
        return LeftAlone("configuration already: it holds only assignments, rendered by BOSH; no env file was "
                         "made", None, "info")
    return None


def only_assignments(doc: Document) -> bool:
    """Whether the body is nothing but assignments (``export``s, ``set`` lines and comments around
    them) once the ERB control tags are gone."""
    found = False
    for child in doc.root.named_children:
        if child.type == "comment":
            continue
        if is_assignment(doc, child):
            found = True
            continue
        if child.type == "command" and command_name(doc, child) == "set":
            continue
        return False
    return found


# -- who reads or copies a template --------------------------------------------------------------------
def _scripts(job: JobContext, current: str) -> dict[str, str]:
    """The job's script templates (path -> text), the one being transformed left out."""
    return {p: t for p, t in sorted(job.files.items()) if p != current and _is_script(job, p, t)}


def _is_script(job: JobContext, path: str, text: str) -> bool:
    rendered = job.rendered_path(path) or ""
    return path in job.dialects or rendered.startswith("bin/") or text.startswith("#!")


def _refers(path: str, job: JobContext, rendered: str) -> bool:
    """Whether ``path`` (variables put in where the script sets them) names the rendered file."""
    path = path.strip("\"'")
    if path == f"/var/vcap/jobs/{job.name}/{rendered}" or path.endswith("/" + rendered) or path == rendered:
        return True
    base = rendered.rsplit("/", 1)[-1]
    others = [r for r in job.templates.values() if r.rsplit("/", 1)[-1] == base]
    return len(others) == 1 and (path.endswith("/" + base) or path == base)


def sourced_by(job: JobContext, current: str, rendered: str) -> str | None:
    """The first other script of the job that sources the rendered file (its template path)."""
    return per_job(job, ("sourced_by", current, rendered), lambda: _sourced_by(job, current, rendered))


def _sourced_by(job: JobContext, current: str, rendered: str) -> str | None:
    for path, text in _scripts(job, current).items():
        assignments = literal_assignments(text)
        doc = _parsed(_without_erb(text))
        for _, sourced in source_commands(doc):
            if _refers(expand_path(sourced, assignments), job, rendered):
                return job.rendered_path(path) or path
    return None


def copied_by(job: JobContext, current: str, rendered: str) -> tuple[str, int, str] | None:
    """(script, line, command) of the first copy of the rendered file, or of a folder holding it,
    made by a script of the job (the script itself included)."""
    return per_job(job, ("copied_by", current, rendered), lambda: _copied_by(job, current, rendered))


def _copied_by(job: JobContext, current: str, rendered: str) -> tuple[str, int, str] | None:
    texts = dict(_scripts(job, current))
    own = job.files.get(current)
    if own is not None:
        texts[current] = own
    for path, text in sorted(texts.items()):
        doc = _parsed(_without_erb(text))
        assignments = literal_assignments(text)
        # the copy commands in document order (two commands never start at the same byte)
        for node in sorted((n for name in _COPIERS for n in doc.commands(name)), key=lambda n: n.start_byte):
            args = [doc.masked_text(a) for a in node.children_by_field_name("argument")]
            sources = [a for a in args if not a.startswith("-")][:-1]
            for arg in sources:
                if _holds(expand_path(arg.strip("\"'"), assignments), job, rendered):
                    line = doc.line_of(node.start_byte)
                    said = text.encode("utf-8")[node.start_byte:node.end_byte].decode("utf-8", "replace")
                    return job.rendered_path(path) or path, line, " ".join(said.split())[:80]  # with its ERB
    return None


def run_as_another_user(job: JobContext, current: str, rendered: str) -> str | None:
    """What says that a program other than BOSH's runs the rendered script as a user other than
    root or vcap (who can read the job's ``config/``), or None:

    - a script of the job (the script itself included) opens the script, or a folder of the job
      holding it (``bin/``), to other users: ``chmod`` that grants others read (or, on a folder,
      entry), ``chown``/``chgrp`` to another owner, ``setfacl`` (and no such command opens
      ``config/`` as well); ``chmod +x``, ``chmod 750``, ``chown vcap`` are what BOSH does anyway;
    - a config template of the job names the rendered path and tells the program that reads it
      to drop privileges (``user nobody``, ``User=``, ``--user``): a hook run after the drop.
    """
    return per_job(job, ("run_as_another_user", current, rendered),
                   lambda: _opened_to_others(job, current, rendered) or _hook_of_a_dropping_daemon(job, rendered))


_OPENERS = ("chmod", "chown", "chgrp", "setfacl")
_BOSH_USERS = {"", "root", "vcap", "0"}
#: setfacl options whose next argument is an ACL spec or a file of them, not a file to change
_SETFACL_TAKES = {"-m", "-M", "-x", "-X", "--set", "--set-file", "--modify", "--modify-file", "--remove",
                  "--remove-file"}


def _opens(name: str, args: list[str]) -> list[str] | None:
    """The files a permission command opens to users other than root and vcap (as written), or
    None when it opens nothing (``chmod +x``, ``chmod 750``, ``chown vcap:vcap``)."""
    operands = [a.strip("\"'") for a in args if not a.startswith("-") or re.fullmatch(r"-[rwxXst]+", a)]
    if name == "setfacl":
        files, skip = [], False
        for a in args:
            if skip or a.split("=", 1)[0] in _SETFACL_TAKES:
                skip = a in _SETFACL_TAKES
                continue
            if not a.startswith("-"):
                files.append(a.strip("\"'"))
        return files or None
    if len(operands) < 2:
        return None
    spec, files = operands[0], operands[1:]
    if name == "chmod":
        return files if _mode_opens(spec) else None
    owners = spec.replace(".", ":").split(":") if name == "chown" else ["", spec]
    return files if any(o not in _BOSH_USERS for o in owners) else None


def _mode_opens(mode: str) -> bool:
    """Whether a chmod mode grants others read or entry (``o+rx``, ``a+r``, ``+r``, ``755``)."""
    if re.fullmatch(r"[0-7]{3,4}", mode):
        return int(mode[-1]) & 5 != 0
    for clause in mode.split(","):
        m = re.fullmatch(r"([ugoa]*)((?:[-+=][rwxXst]*)+)", clause)
        if m is None:
            return True  # a mode we cannot read (a variable): say so rather than move the ERB
        who, ops = m.groups()
        for op, perms in re.findall(r"([-+=])([rwxXst]*)", ops):
            if op == "-":
                continue
            if ("a" in who or "o" in who) and set(perms) & set("rxX"):
                return True
            if not who and "r" in perms:
                return True
    return False


def _opens_the_file(path: str, job: JobContext, rendered: str, recursive: bool) -> bool:
    """Whether opening ``path`` opens the rendered file: the file itself, or (recursively) a folder
    of the job that holds it. Not the job folder itself, which holds ``config/`` too; and a folder
    opened alone (``chmod a+rx bin``, to reach a file opened by name) leaves the other files in it
    as BOSH made them."""
    if _refers(path, job, rendered):
        return True
    folder = path.rstrip("/").removesuffix("/.").removesuffix("/*")
    return recursive and folder != f"/var/vcap/jobs/{job.name}" and _holds(path, job, rendered)


def _opened_to_others(job: JobContext, current: str, rendered: str) -> str | None:
    texts = dict(_scripts(job, current))
    own = job.files.get(current)
    if own is not None:
        texts[current] = own
    config = f"/var/vcap/jobs/{job.name}/config"
    found: str | None = None
    for path, text in sorted(texts.items()):
        if not any(name in text for name in _OPENERS):
            continue
        doc = _parsed(_without_erb(text))
        assignments = literal_assignments(text)
        for node in sorted((n for name in _OPENERS for n in doc.commands(name)), key=lambda n: n.start_byte):
            name = command_name(doc, node) or ""
            args = [doc.masked_text(a) for a in node.children_by_field_name("argument")]
            written = _opens(name, args) or []
            opened = [expand_path(f, assignments) for f in written]
            if any(f.rstrip("/") == config or f.startswith(config + "/") for f in opened):
                return None  # config/ is opened too: the env file can be read
            recursive = any(re.fullmatch(r"-[a-zA-Z]*R[a-zA-Z]*|--recursive", a) for a in args)
            hit = next((w for w, f in zip(written, opened) if _opens_the_file(f, job, rendered, recursive)), None)
            if found is None and hit is not None:
                spec = [] if name == "setfacl" else [a for a in args if a.strip("\"'") not in written][-1:]
                shown = " ".join([name, *spec, *(["…"] if len(written) > 1 else []), hit])
                found = (f"{job.rendered_path(path) or path} line {doc.line_of(node.start_byte)}: "
                         f"`{shown}` opens it to other users")
    return found


#: a privilege drop in a daemon's configuration: ``user nobody`` (openvpn, nginx, haproxy),
#: ``User=x`` (systemd), ``user=x`` (supervisord), ``setuid x``, ``--user x`` in a command line
_DROP = re.compile(r"""^[ \t]*(?:user|setuid|run[-_]?as)(?:[ \t]*=[ \t]*|[ \t]+)["']?([^\s"';#]+)|--user[= ]+["']?([^\s"';]+)""",
                   re.M | re.I)


def _hook_of_a_dropping_daemon(job: JobContext, rendered: str) -> str | None:
    named = re.compile(rf"/var/vcap/jobs/{re.escape(job.name)}/{re.escape(rendered)}(?![\w./-])")
    for path, text in sorted(job.files.items()):
        if _is_script(job, path, text) or not named.search(text):
            continue
        for m in _DROP.finditer(text):
            user = m.group(1) or m.group(2)
            if user.rstrip(";") not in _BOSH_USERS:
                return f"{job.rendered_path(path) or path} names it and runs it as user {user.rstrip(';')}"
    return None


def _holds(path: str, job: JobContext, rendered: str) -> bool:
    """Whether copying ``path`` copies the rendered file: the file itself, or a folder it is in
    (``/var/vcap/jobs/<job>/bin/``, ``$JOB_DIR/bin/*``, the whole job folder)."""
    if _refers(path, job, rendered):
        return True
    folder = path.rstrip("/")
    for tail in ("/*", "/.", "/"):
        folder = folder.removesuffix(tail)
    job_dir = f"/var/vcap/jobs/{job.name}"
    if folder == job_dir:
        return True
    parts = rendered.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        sub = "/".join(parts[:i])
        if folder == f"{job_dir}/{sub}" or (re.search(r"\$\{?\w+\}?/" + re.escape(sub) + "$", folder)):
            return True
    return False


@lru_cache(maxsize=256)
def _without_erb(text: str) -> str:
    raw = text.encode("utf-8")
    tags, _ = scan_tags(raw)
    return mask(raw, tags).decode("utf-8", "replace")


@lru_cache(maxsize=256)
def _parsed(text: str) -> Document:
    return Document.parse("other", text.encode("utf-8"))


# -- env template names, job-wide ----------------------------------------------------------------------
def allocate(job: JobContext, current: str) -> dict[str, tuple[str, str] | None]:
    """Env template names for every script of the job (in template path order): ``<script>.env``;
    for scripts that share a name, the folder they render to is part of it
    (``config/ssl2/x.sh.env``); an env file a script already sources keeps its name; a name a
    template of the job already has is passed over for the next variant."""
    return per_job(job, ("allocate", current), lambda: _allocate(job, current))


def _allocate(job: JobContext, current: str) -> dict[str, tuple[str, str] | None]:
    scripts = sorted({current, *(p for p in job.files if _is_script(job, p, job.files[p]))})
    names = {p: job.script_name(p) for p in scripts}
    counts: dict[str, int] = {}
    for name in names.values():
        counts[name] = counts.get(name, 0) + 1
    used_sources = set(job.templates) | {k.removeprefix("templates/") for k in job.files}
    used_rendered = set(job.templates.values())
    out: dict[str, tuple[str, str] | None] = {}
    sourced = {p: _sourced_env(job, p, names[p]) for p in scripts}
    taken = {s for s in sourced.values() if s}
    for path in scripts:
        if sourced[path]:
            rendered = sourced[path]
            source = rendered.removeprefix("config/") + ".erb"
            out[path] = (source, rendered.removeprefix("config/"))
            continue
        folder = _folder(job, path) if counts[names[path]] > 1 else ""
        out[path] = None
        for suffix in _ENV_SUFFIXES:
            rendered = f"{folder}{names[path]}.{suffix}"
            source = f"{rendered}.erb"
            if source in used_sources or f"config/{rendered}" in used_rendered or f"config/{rendered}" in taken:
                continue
            out[path] = (source, rendered)
            used_sources.add(source)
            used_rendered.add(f"config/{rendered}")
            break
    return out


def _folder(job: JobContext, path: str) -> str:
    """``bin/ssl2/x.sh`` -> ``ssl2/``: where a script renders to, below ``bin/`` (else its
    template's folder), for names shared by several scripts of the job."""
    rendered = job.rendered_path(path)
    if rendered:
        folder = rendered.rsplit("/", 1)[0] if "/" in rendered else ""
        folder = folder.removeprefix("bin").lstrip("/")
        if folder:
            return folder + "/"
    source = path.removeprefix("templates/")
    return (source.rsplit("/", 1)[0] + "/") if "/" in source else ""


def _sourced_env(job: JobContext, path: str, script: str) -> str | None:
    """``config/...`` of the env file of ours the script already sources (an earlier run)."""
    text = job.files.get(path)
    if text is None:
        return None
    m = re.search(rf"/var/vcap/jobs/{re.escape(job.name)}/(config/(?:[\w.-]+/)*{re.escape(script)}\."
                  rf"(?:env|erb\.env|env\d))\b", text)
    return m.group(1) if m else None


def sources_env(job: JobContext, text: str, script: str) -> bool:
    """Whether a script's text sources an env file made by this codemod for it (a second run)."""
    return re.search(rf"/config/(?:[\w.-]+/)*{re.escape(script)}\.(?:env|erb\.env|env\d)\b", text) is not None


_HEREDOC_TARGET = re.compile(r"""(?:>>?\s*["']?([^\s"'<>;|&]+)["']?\s*<<-?\s*["']?\w+|<<-?\s*["']?\w+["']?\s*>>?\s*["']?([^\s"'<>;|&]+))""")


def heredoc_file_shared(job: JobContext, current: str, file_name: str) -> bool:
    """Whether another script of the job writes a heredoc to a file of the same name: then neither
    may take the plain name for its config template, whichever is seen first."""
    for text in _scripts(job, current).values():
        for m in _HEREDOC_TARGET.finditer(text):
            target = (m.group(1) or m.group(2) or "").rsplit("/", 1)[-1]
            if target == file_name:
                return True
    return False


# -- names the job's scripts use ------------------------------------------------------------------------
def job_words(job: JobContext) -> set[str]:
    """Every name a script of the job uses, and every variable a template of the job assigns: a
    generated variable never takes one of them, so a name never means two things in one job.
    Worked out once per job (the caller does not change the set)."""
    return per_job(job, "job_words", lambda: _job_words(job))


def _job_words(job: JobContext) -> set[str]:
    words: set[str] = set()
    for path, text in job.files.items():
        if _is_script(job, path, text):
            words |= set(re.findall(r"[A-Za-z_]\w*", _without_erb(text)))
        else:
            words |= set(re.findall(r"(?m)^\s*(?:export\s+|readonly\s+)?([A-Za-z_]\w*)=", text))
    return {w for w in words if w.strip("_")}
