"""The Message model, the MessageBus protocol and its backends: memory, redis streams, redis pub/sub."""
