"""`python -m prodmatch.cli`, as the installed `prodmatch` command."""

from prodmatch.cli import app

app()
