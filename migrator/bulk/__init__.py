"""Bulk mode: one reviewable branch, commit and pull-request text per release repository.

The modules are kept small and separate so each can be tested on its own: ``repos`` reads the repo
list, ``gitops`` wraps the real ``git`` command, ``prtext`` writes commit messages and PR texts,
``forge`` talks to ``gh``, ``runner`` runs one repo from clone to push, ``report`` renders and
remembers the results, and ``cli`` ties them to the command line. Nothing here re-implements the
engine: a repo is migrated with the same discovery, pipeline and runner as the single-release command.
"""
