"""Round-trip sharing for the Redis buses: what concurrent callers ask for goes out together.

redis-py spends roughly 50-150 us of Python per command, most of a message's budget at thousands
of messages per second. Each batcher keeps one request on the wire at a time: the callers of one
turn of the event loop go out together on the next turn, and those who arrive while a request is
in flight go out together when it returns. A caller alone pays one task switch; under load the
batches grow by themselves. Each caller still gets its own reply or its own error.

- :class:`CommandBatcher`: any commands, as one pipeline.
- :class:`ScriptBatcher`: many items of one kind (sends, acks) as one call of a Lua script that
  loops over them -- one command to encode and parse instead of one per item.
- :class:`GroupReadBatcher`: the non-blocking reads of many inboxes as one ``XREADGROUP``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from agentrig.exceptions import MissingExtraError

try:
    from redis.commands.core import AsyncScript
    from redis.exceptions import NoScriptError
except ImportError as error:  # the 'redis' extra is optional
    raise MissingExtraError("the Redis message bus", "redis") from error

from agentrig.core.messaging._redis import redis_asyncio, stream_batches

__all__ = ["CommandBatcher", "GroupReadBatcher", "ScriptBatcher"]

StreamEntries = list[tuple[str, Mapping[Any, Any]]]
Item = TypeVar("Item")


class _Batcher(Generic[Item]):
    """One request in flight; the items that arrive meanwhile form the next one."""

    def __init__(self) -> None:
        self._queue: list[tuple[Item, asyncio.Future[Any]]] = []
        self._busy = False
        self._flusher: asyncio.Task[None] | None = None

    async def _execute(self, items: list[Item]) -> list[Any]:
        """One request for ``items``: a reply per item, an exception instance for a failed one."""
        raise NotImplementedError

    async def _submit(self, item: Item) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if not self._busy:
            # Sent from a task on the next turn of the loop, not inline: the other callers woken
            # in this turn (every pair of a busy agent) join the same request.
            self._busy = True
            self._send_queued()
        return await future

    def _send_queued(self) -> None:
        if self._queue:
            self._flusher = asyncio.get_running_loop().create_task(self._flush())
        else:
            self._busy = False
            self._flusher = None

    async def _flush(self) -> None:
        batch, self._queue = self._queue, []
        replies: list[Any] = []
        try:
            replies = await self._execute([item for item, _ in batch])
        except Exception as error:  # noqa: BLE001 -- not swallowed: each caller receives it
            replies = [error] * len(batch)
        finally:
            for index, (_, future) in enumerate(batch):
                if future.done():  # its caller was cancelled
                    continue
                if index >= len(replies):  # this task itself was cancelled (shutdown)
                    future.cancel()
                elif isinstance(replies[index], BaseException):
                    future.set_exception(replies[index])
                else:
                    future.set_result(replies[index])
            self._send_queued()

    async def drain(self) -> None:
        """Wait until every queued request has been sent and answered."""
        while self._flusher is not None:
            await asyncio.shield(self._flusher)


class CommandBatcher(_Batcher[tuple[Any, ...]]):
    """Any commands; those queued behind the one in flight go out as one pipeline."""

    def __init__(self, client: redis_asyncio.Redis) -> None:
        super().__init__()
        self._client = client

    async def call(self, *command: Any) -> Any:
        """Run ``command`` (``"XADD", key, "*", ...``) and return its reply."""
        return await self._submit(command)

    async def script(self, script: AsyncScript, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """Run a registered Lua script by its SHA, loading it first if the server forgot it."""
        command = ("EVALSHA", script.sha, len(keys), *keys, *args)
        try:
            return await self.call(*command)
        except NoScriptError:  # the server restarted or SCRIPT FLUSH ran
            await self._client.script_load(script.script)
            return await self.call(*command)

    async def _execute(self, items: list[tuple[Any, ...]]) -> list[Any]:
        if len(items) == 1:
            try:
                # execute_command is untyped in redis-py's asyncio client.
                return [await self._client.execute_command(*items[0])]  # type: ignore[no-untyped-call]
            except Exception as error:  # noqa: BLE001 -- handed to the caller by _submit
                return [error]
        pipeline = self._client.pipeline(transaction=False)
        for command in items:
            pipeline.execute_command(*command)
        return await pipeline.execute(raise_on_error=False)


class ScriptBatcher(_Batcher[tuple[Sequence[Any], Sequence[Any]]]):
    """Many items of one kind as one call of a Lua script written to loop over them.

    The script receives the items' keys one after another (``keys_per_item`` each) and, in ARGV,
    the ``shared_args`` followed by the items' arguments (``args_per_item`` each); it returns one
    reply per item, using ``redis.pcall`` so that one item's error stays that item's.
    """

    def __init__(
        self,
        commands: CommandBatcher,
        script: AsyncScript,
        *,
        keys_per_item: int,
        args_per_item: int,
        shared_args: Sequence[Any] = (),
    ) -> None:
        super().__init__()
        self._commands = commands
        self._script = script
        self._keys_per_item = keys_per_item
        self._args_per_item = args_per_item
        self._shared_args = tuple(shared_args)

    async def run(self, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """This item's reply. Raises the Redis error of this item, or of the whole call."""
        if len(keys) != self._keys_per_item or len(args) != self._args_per_item:
            raise ValueError(f"expected {self._keys_per_item} keys and {self._args_per_item} args")
        return await self._submit((keys, args))

    async def _execute(self, items: list[tuple[Sequence[Any], Sequence[Any]]]) -> list[Any]:
        keys = [key for item_keys, _ in items for key in item_keys]
        args = [*self._shared_args, *(arg for _, item_args in items for arg in item_args)]
        replies: list[Any] = await self._commands.script(self._script, keys, args)
        return replies


class GroupReadBatcher(_Batcher[str]):
    """Merges the non-blocking ``XREADGROUP`` of concurrent receivers into one command.

    Receivers of different inboxes of one bus share the consumer group and consumer name, so
    ``XREADGROUP ... STREAMS inbox-a inbox-b ... > > ...`` reads for all of them at once. The
    entries go to ``deposit(stream, entries)``; :meth:`read` returns once that is done.
    """

    def __init__(
        self,
        commands: CommandBatcher,
        *,
        group: str,
        consumer: str,
        count: int,
        deposit: Callable[[str, StreamEntries], None],
    ) -> None:
        super().__init__()
        self._commands = commands
        self._group = group
        self._consumer = consumer
        self._count = count
        self._deposit = deposit

    async def read(self, stream: str) -> None:
        """Read what is new in ``stream`` for this consumer, without blocking."""
        await self._submit(stream)

    async def _execute(self, items: list[str]) -> list[Any]:
        streams = list(dict.fromkeys(items))  # two receivers of one inbox: read it once
        reply = await self._commands.call(
            "XREADGROUP", "GROUP", self._group, self._consumer, "COUNT", self._count,
            "STREAMS", *streams, *([">"] * len(streams)),
        )  # fmt: skip
        for stream, entries in stream_batches(reply).items():
            self._deposit(stream, entries)
        return [None] * len(items)
