"""`python -m ragkb`."""

from ragkb.cli import run

run()
