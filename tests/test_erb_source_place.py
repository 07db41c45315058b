"""erb-to-config: the ``source`` line of the env file never comes between a comment and the
command the comment describes; it goes above the comment lines right above that command (never
above the shebang).
"""

from __future__ import annotations

import textwrap

from codemods.erb_to_config import ErbToConfig
from tests.support.codemod_case import run_codemods

PROPERTIES = {"job.port": {"description": "a port", "default": 8080}}


def migrate(before: str) -> str:
    return run_codemods([ErbToConfig()], before, properties=PROPERTIES).text


def test_the_source_line_goes_above_the_comment_of_the_command_that_needs_it() -> None:
    text = migrate("""\
        #!/bin/bash

        # Use the provider's port
        nc -z 127.0.0.1 <%= p("job.port") %>

        # http://www.consul.io/docs/agent/checks.html
        exit 0
        """)
    assert text == textwrap.dedent("""\
        #!/bin/bash

        source /var/vcap/jobs/job/config/job_ctl.env

        # Use the provider's port
        nc -z 127.0.0.1 "$JOB_PORT"

        # http://www.consul.io/docs/agent/checks.html
        exit 0
        """), text


def test_a_comment_block_of_several_lines_after_a_command_stays_with_its_command() -> None:
    text = migrate("""\
        #!/bin/bash
        chmod 600 .ssh/id_rsa
        # add the ssh key
        # to the vcap user
        ssh -i .ssh/id_rsa vcap@<%= p("job.port") %> true
        """)
    assert text == textwrap.dedent("""\
        #!/bin/bash
        chmod 600 .ssh/id_rsa
        source /var/vcap/jobs/job/config/job_ctl.env
        # add the ssh key
        # to the vcap user
        ssh -i .ssh/id_rsa "vcap@${JOB_PORT}" true
        """), text


def test_the_source_line_never_goes_above_the_shebang() -> None:
    text = migrate("""\
        #!/bin/bash
        # Use the provider's port
        nc -z 127.0.0.1 <%= p("job.port") %>
        """)
    assert text == textwrap.dedent("""\
        #!/bin/bash
        source /var/vcap/jobs/job/config/job_ctl.env
        # Use the provider's port
        nc -z 127.0.0.1 "$JOB_PORT"
        """), text
