"""`python -m provisionhub.cli`: the command line."""

from provisionhub.cli import main

main()
