"""`python -m ragkb`."""

from ragkb.cli.main import run

run()
