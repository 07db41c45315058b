"""exemplar-migrate: codemods that move legacy BOSH job scripts to exemplar-release practices."""

__version__ = "0.1.0"
