"""Models: endpoints, the reference model server, fault injection and cassettes."""
