"""Which rooms are live, answered from memory for the token endpoint's hot path.

Every watch page asks `POST /api/live/token` first, so at a popular go-live thousands of requests
for the same room arrive within seconds; an aiosqlite round trip for each would cost more than
minting the token. This cache keeps a snapshot of the live streams, keyed by room name:

- Exact for changes made by this process: `StreamService` calls `invalidate()` as soon as a
  go-live or an end is committed, before any event handler runs.
- At most `ttl` seconds behind for changes made by another process (a `golive web` replica, the
  bot): once the snapshot is older than half of that, one request reloads it while the others
  keep answering from it; older than `ttl`, every request waits. A room that *ended* elsewhere is
  still answered as live for at most `ttl` seconds; a room that *went live* elsewhere is never
  refused, since a room missing from the snapshot is looked up in the database.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Generic, Protocol, TypeVar


class _HasRoom(Protocol):
    @property
    def room_name(self) -> str | None: ...


S = TypeVar("S", bound=_HasRoom)

DEFAULT_TTL_SECONDS = 1.0


class LiveRoomCache(Generic[S]):
    def __init__(
        self,
        load_live: Callable[[], Awaitable[list[S]]],
        find_live: Callable[[str], Awaitable[S | None]],
        *,
        ttl: float = DEFAULT_TTL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load_live = load_live
        self._find_live = find_live
        self._ttl = ttl
        self._monotonic = monotonic
        self._rooms: Mapping[str, S] = {}
        # Past _refresh_after (half the TTL) one request reloads while the others keep answering
        # from the snapshot; past _fresh_until (the TTL) every request waits for fresh data.
        # Under steady traffic nobody but that one request ever waits for the database.
        self._refresh_after = float("-inf")
        self._fresh_until = float("-inf")
        # Bumped by invalidate(): a load that started before it must not bring back what it
        # read before the change was committed.
        self._generation = 0
        self._reload_lock = asyncio.Lock()

    async def find(self, room_name: str) -> S | None:
        """The live stream using `room_name`, or None (see the module docstring for staleness)."""
        now = self._monotonic()
        if now >= self._fresh_until or (
            now >= self._refresh_after and not self._reload_lock.locked()
        ):
            await self._reload()
        stream = self._rooms.get(room_name)
        if stream is not None:
            return stream
        # Maybe it went live in another process since the snapshot: ask the database.
        generation = self._generation
        stream = await self._find_live(room_name)
        if stream is not None and generation == self._generation:
            self._rooms = {**self._rooms, room_name: stream}
        return stream

    def invalidate(self) -> None:
        """Forget everything: a stream of this process went live or ended (call after commit)."""
        self._generation += 1
        self._rooms = {}
        self._refresh_after = self._fresh_until = float("-inf")

    async def _reload(self) -> None:
        async with self._reload_lock:
            if self._monotonic() < self._refresh_after:
                return  # another request reloaded while this one waited
            generation = self._generation
            started = self._monotonic()
            streams = await self._load_live()
            if generation != self._generation:
                return  # invalidated meanwhile; the next request loads again
            self._rooms = {s.room_name: s for s in streams if s.room_name is not None}
            self._refresh_after = started + self._ttl / 2
            self._fresh_until = started + self._ttl
