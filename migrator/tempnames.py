"""The one name pattern of every file the writer leaves beside a job's files while it works.

``.exemplar-migrate-<name>.<8 chars>.tmp`` (new content being staged), ``.bak`` (the old copy of a
file being replaced or removed) and ``.journal`` (what to undo if the run is killed). Discovery
never takes such a file for a template, and the next run that applies changes cleans them up.
"""

from __future__ import annotations

import re

TEMP_PREFIX = ".exemplar-migrate-"
RANDOM_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_"  # what tempfile.mkstemp draws from
TEMP_NAME = re.compile(r"^\.exemplar-migrate-(?P<name>.+)\.[a-z0-9_]{8}\.(?P<kind>tmp|bak|journal)$")


def is_temp_name(name: str) -> bool:
    """Is this the name of one of the tool's temporary files, backups or journals?"""
    return TEMP_NAME.match(name) is not None
