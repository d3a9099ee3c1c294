"""``python -m ebrcs`` runs the command line."""

from ebrcs.cli import main

main()
