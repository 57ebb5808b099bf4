"""Framework adapters, one module each; they register through the ``agentrig.adapters`` entry points."""
