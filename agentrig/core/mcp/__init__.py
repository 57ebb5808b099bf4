"""The plant's tools over the Model Context Protocol (``agentrig mcp serve``, ``--tools mcp``).

- :mod:`~agentrig.core.mcp.server` -- :class:`PlantToolService` (the hop's span, then the run's
  executor) and :func:`role_server` (one role's tools as a low-level MCP server);
- :mod:`~agentrig.core.mcp.http` -- the streamable HTTP transport and its checks (loopback unless
  a bearer token is set, Host and Origin validated), :class:`PlantMcpHttpServer`;
- :mod:`~agentrig.core.mcp.standalone` -- ``agentrig mcp serve`` over stdio or HTTP.

Needs the ``mcp`` extra (``pip install 'agentrig[mcp]'``); importing a module without it raises
:class:`~agentrig.exceptions.MissingExtraError`. Nothing here imports an adapter or a framework.
"""
