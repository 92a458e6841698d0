"""``python -m migravity`` runs the command-line interface."""

from migravity.cli import main

main()
