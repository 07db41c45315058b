"""The registry of codemods, in the order they run.

Order matters where one codemod's rewrite makes another's possible: the pidfile codemods run before
the log codemod so that a helper ``source`` line kept alive only by ``pid_guard`` can go once the log
side effect it also had is carried over; ERB moves last, after the lines it might touch are final.
"""

from __future__ import annotations

from codemods.erb_to_config import ErbToConfig
from codemods.log_pipelines import LogPipelines
from codemods.sipid_healthcheck import SipidHealthcheck
from codemods.sipid_pidfiles import SipidPidfiles
from migrator.codemod import Codemod

#: Every codemod class, in run order.
REGISTRY: tuple[type[Codemod], ...] = (
    SipidPidfiles,
    SipidHealthcheck,
    LogPipelines,
    ErbToConfig,
)


def by_id() -> dict[str, type[Codemod]]:
    return {cls.id: cls for cls in REGISTRY}


def select(select_ids: list[str] | None = None, ignore_ids: list[str] | None = None) -> list[Codemod]:
    """Instantiate the chosen codemods in registry order; unknown ids raise KeyError."""
    known = by_id()
    for cid in (select_ids or []) + (ignore_ids or []):
        if cid not in known:
            raise KeyError(cid)
    chosen = [cls for cls in REGISTRY if (not select_ids or cls.id in select_ids) and cls.id not in (ignore_ids or [])]
    return [cls() for cls in chosen]
