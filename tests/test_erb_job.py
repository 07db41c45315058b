"""erb-to-config across a job: which templates keep their ERB, and job-wide names.

Each test builds a small job on disk and runs the tool on it as a maintainer would
(``python -m migrator``), so discovery, the engine, the spec and the written files are all real.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _job(tmp_path: Path, spec: str, files: dict[str, str], name: str = "box") -> Path:
    job_dir = tmp_path / "rel" / "jobs" / name
    (job_dir / "templates").mkdir(parents=True)
    (job_dir / "spec").write_text(textwrap.dedent(spec))
    for rel, text in files.items():
        path = job_dir / "templates" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return job_dir


def _run(job_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "migrator", "--allow-dirty", "-v", "--select", "erb-to-config",
                           *args, str(job_dir)], capture_output=True, text=True, cwd=ROOT)


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


CTL = """\
    #!/bin/bash
    source /var/vcap/jobs/box/data/properties.sh
    exec /var/vcap/packages/box/bin/box --port <%= p("box.port") %> --name "$BOX_NAME"
    """


def test_a_properties_file_of_assignments_sourced_by_the_ctl_is_config_already(tmp_path: Path) -> None:
    job = _job(tmp_path, """\
        name: box
        templates:
          bin/box_ctl.erb: bin/box_ctl
          data/properties.sh.erb: data/properties.sh
        properties:
          box.port: {default: 8080}
          box.name: {default: box}
        """, {"bin/box_ctl.erb": CTL, "data/properties.sh.erb": """\
        #!/usr/bin/env bash
        # values for the job's scripts
        export BOX_NAME='<%= p("box.name") %>'
        export BOX_HOME=/var/vcap/store/box
        """})
    before = (job / "templates/data/properties.sh.erb").read_text()
    proc = _run(job)
    assert proc.returncode in (0, 1), proc.stderr
    tree = _tree(job)
    assert tree["templates/data/properties.sh.erb"] == before
    assert "templates/properties.sh.env.erb" not in tree
    assert "templates/box_ctl.env.erb" in tree  # the ctl itself still moves its value
    assert "properties.sh.env" not in tree["spec"]
    assert "configuration already: bin/box_ctl sources it" in proc.stderr


def test_a_template_of_only_assignments_is_config_even_when_nothing_sources_it(tmp_path: Path) -> None:
    job = _job(tmp_path, """\
        name: box
        templates:
          env.sh.erb: bin/env.sh
        properties:
          box.port: {default: 8080}
        """, {"env.sh.erb": """\
        #!/bin/bash
        set -e
        <% if p("box.port") > 1024 -%>
        export BOX_PORT=<%= p("box.port") %>
        <% end -%>
        """})
    before = _tree(job)
    proc = _run(job)
    assert _tree(job) == before
    assert "configuration already: it holds only assignments" in proc.stderr


def test_a_library_another_script_sources_keeps_its_erb(tmp_path: Path) -> None:
    job = _job(tmp_path, """\
        name: box
        templates:
          ctl.erb: bin/ctl
          utils.erb: bin/utils
        properties:
          box.driver: {default: overlay}
        """, {"ctl.erb": """\
        #!/bin/bash
        source $(dirname $0)/utils
        volume_size
        """, "utils.erb": """\
        #!/bin/bash
        volume_size() {
        <% if p("box.driver") == "overlay" -%>
          echo 0
        <% end -%>
        }
        """})
    before = _tree(job)
    proc = _run(job)
    assert _tree(job) == before
    assert "templates/utils.erb:" in proc.stderr and "bin/ctl sources it" in proc.stderr


def test_a_script_the_job_copies_into_a_container_keeps_its_erb_with_a_finding(tmp_path: Path) -> None:
    job = _job(tmp_path, """\
        name: box
        templates:
          box_ctl.erb: bin/box_ctl
          inner.sh.erb: bin/container/inner.sh
          cron.erb: bin/container/cron
        properties:
          box.port: {default: 8080}
          box.rootfs: {default: /var/vcap/data/box/rootfs}
        """, {"box_ctl.erb": """\
        #!/bin/bash
        ROOTFS=<%= p("box.rootfs") %>
        JOB_DIR=/var/vcap/jobs/box
        rsync -a $JOB_DIR/bin/container/ $ROOTFS/opt/box/bin/
        exec chroot $ROOTFS /opt/box/bin/inner.sh
        """, "inner.sh.erb": """\
        #!/bin/bash
        exec /opt/box/server --port <%= p("box.port") %>
        """, "cron.erb": """\
        #!/bin/bash
        exec /opt/box/rotate --keep <%= p("box.port") %>
        """})
    proc = _run(job)
    tree = _tree(job)
    assert "<%= p(\"box.port\") %>" in tree["templates/inner.sh.erb"]
    assert "<%= p(\"box.port\") %>" in tree["templates/cron.erb"]
    assert "templates/inner.sh.env.erb" not in tree and "templates/cron.env.erb" not in tree
    assert "templates/inner.sh.erb:2: [erb-to-config] review: the job copies this script elsewhere " \
           "(bin/box_ctl line 4: `rsync -a $JOB_DIR/bin/container/ $ROOTFS/opt/box/bin/`)" in proc.stderr, proc.stderr
    assert "templates/box_ctl.env.erb" in tree  # the ctl itself is not copied: its value moves


def test_a_script_copied_by_its_own_path_keeps_its_erb(tmp_path: Path) -> None:
    job = _job(tmp_path, """\
        name: box
        templates:
          box_ctl.erb: bin/box_ctl
          rotate.erb: bin/rotate
        properties:
          box.keep: {default: 3}
        """, {"box_ctl.erb": """\
        #!/bin/bash
        cp "/var/vcap/jobs/box/bin/rotate" /etc/cron.hourly/box-rotate
        exec /var/vcap/packages/box/bin/box
        """, "rotate.erb": """\
        #!/bin/bash
        exec /var/vcap/packages/box/bin/rotate --keep <%= p("box.keep") %>
        """})
    before = _tree(job)
    proc = _run(job)
    assert _tree(job) == before
    assert "the job copies this script elsewhere (bin/box_ctl line 2" in proc.stderr


def test_a_template_the_spec_does_not_list_keeps_its_erb(tmp_path: Path) -> None:
    job = _job(tmp_path, """\
        name: box
        templates:
          box_ctl.erb: bin/box_ctl
        properties:
          box.port: {default: 8080}
        """, {"box_ctl.erb": "#!/bin/bash\nexec /bin/box\n", "old_ctl.erb": """\
        #!/bin/bash
        exec /bin/box --port <%= p("box.port") %>
        """})
    before = _tree(job)
    proc = _run(job)
    assert _tree(job) == before
    assert "templates/old_ctl.erb: [engine] review: left unchanged: not listed in the spec's templates" in proc.stderr
    assert "[erb-to-config]" not in proc.stderr  # one finding says it, not one per codemod
    assert "erb-to-config would rewrite it if it were" in proc.stderr
    assert proc.returncode == 1


def test_an_unlisted_template_with_nothing_to_migrate_is_only_a_note(tmp_path: Path) -> None:
    """A dead file with no legacy shape needs nobody: info (shown with -v), and the run exits 0.
    With every codemod but the chosen ones ignored, the same holds for shapes only those would fix."""
    job = _job(tmp_path, """\
        name: box
        templates:
          box_ctl.erb: bin/box_ctl
        """, {"box_ctl.erb": "#!/bin/bash\nexec /bin/box\n", "old_ctl.erb": """\
        #!/bin/bash
        echo $$ > /var/vcap/sys/run/box/box.pid
        exec /bin/box
        """})
    proc = _run(job)  # erb-to-config only: the pidfile write is not its business
    assert "templates/old_ctl.erb: [engine] info: left unchanged: not listed in the spec's templates" in proc.stderr
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([sys.executable, "-m", "migrator", "--dry-run", str(job)], capture_output=True, text=True,
                          cwd=ROOT)
    assert "old_ctl.erb: [engine] review:" in proc.stderr and "sipid-pidfiles would rewrite it" in proc.stderr
    assert "old_ctl.erb" not in proc.stdout  # no diff of it


SSL_SCRIPT = """\
    #!/bin/bash
    exec /var/vcap/packages/box/bin/tls-{v} --cert <%= p("box.{v}.cert") %>
    """


def test_scripts_with_one_name_in_two_folders_each_get_their_own_env_file_and_a_second_run_changes_nothing(
        tmp_path: Path) -> None:
    job = _job(tmp_path, """\
        name: box
        templates:
          ssl3/x.sh.erb: bin/ssl3/x.sh
          ssl2/x.sh.erb: bin/ssl2/x.sh
        properties:
          box.ssl2.cert: {default: a}
          box.ssl3.cert: {default: b}
        """, {"ssl2/x.sh.erb": SSL_SCRIPT.format(v="ssl2"), "ssl3/x.sh.erb": SSL_SCRIPT.format(v="ssl3")})
    proc = _run(job)
    assert proc.returncode == 0, proc.stderr
    tree = _tree(job)
    assert "source /var/vcap/jobs/box/config/ssl2/x.sh.env\n" in tree["templates/ssl2/x.sh.erb"]
    assert "source /var/vcap/jobs/box/config/ssl3/x.sh.env\n" in tree["templates/ssl3/x.sh.erb"]
    assert "BOX_SSL2_CERT=" in tree["templates/ssl2/x.sh.env.erb"]
    assert "BOX_SSL3_CERT=" in tree["templates/ssl3/x.sh.env.erb"]
    assert "ssl2/x.sh.env.erb: config/ssl2/x.sh.env" in tree["spec"]
    assert "ssl3/x.sh.env.erb: config/ssl3/x.sh.env" in tree["spec"]
    second = _run(job)
    assert _tree(job) == tree, second.stderr


def test_a_generated_name_never_takes_a_variable_another_script_of_the_job_uses(tmp_path: Path) -> None:
    job = _job(tmp_path, """\
        name: box
        templates:
          box_ctl.erb: bin/box_ctl
          post-start.erb: bin/post-start
        properties:
          box.port: {default: 8080}
        """, {"box_ctl.erb": """\
        #!/bin/bash
        exec /var/vcap/packages/box/bin/box --port <%= p("box.port") %>
        """, "post-start.erb": """\
        #!/bin/bash
        BOX_PORT=9090  # the admin port, not the property
        curl -f http://127.0.0.1:$BOX_PORT/health
        """})
    _run(job)
    tree = _tree(job)
    assert "CONFIGURED_BOX_PORT=<%= p(\"box.port\")" in tree["templates/box_ctl.env.erb"]
    assert '--port "$CONFIGURED_BOX_PORT"' in tree["templates/box_ctl.erb"]


def test_two_scripts_writing_a_config_file_of_one_name_each_get_their_own_template(tmp_path: Path) -> None:
    heredoc = """\
        #!/bin/bash
        cat > /var/vcap/data/box/{dir}/app.conf <<EOF
        port = <%= p("box.{dir}.port") %>
        EOF
        exec /var/vcap/packages/box/bin/{dir}
        """
    job = _job(tmp_path, """\
        name: box
        templates:
          api_ctl.erb: bin/api_ctl
          web_ctl.erb: bin/web_ctl
        properties:
          box.api.port: {default: 1}
          box.web.port: {default: 2}
        """, {"api_ctl.erb": heredoc.format(dir="api"), "web_ctl.erb": heredoc.format(dir="web")})
    proc = _run(job)
    assert proc.returncode == 0, proc.stderr
    tree = _tree(job)
    assert "cp /var/vcap/jobs/box/config/api_ctl-app.conf /var/vcap/data/box/api/app.conf" in tree["templates/api_ctl.erb"]
    assert "cp /var/vcap/jobs/box/config/web_ctl-app.conf /var/vcap/data/box/web/app.conf" in tree["templates/web_ctl.erb"]
    assert "box.web.port" in tree["templates/web_ctl-app.conf.erb"]
    second = _run(job)
    assert _tree(job) == tree, second.stderr
