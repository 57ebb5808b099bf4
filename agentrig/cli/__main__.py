"""``python -m agentrig.cli``: the same command as the ``agentrig`` script."""

from agentrig.cli import main

main()
