"""Framework adapters: ``plain`` a module, each framework a package of its own (adapter, glue, patches).

They register through the ``agentrig.adapters`` entry points; :mod:`._loop_cache` is the per-loop
client cache they share and :mod:`._patching` the version check their ``patches`` modules share.
"""
