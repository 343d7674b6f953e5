"""A recorded stream with its chat, as LiveKit's egress and the viewers make one (shared by the
core, API, page and Discord tests of VODs)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from livekit.protocol import egress as lk_egress

from core.accounts.auth import Identity
from core.chat import ChatAuthor
from core.kernel.clock import ManualClock
from core.live import Recording
from core.services import Services
from core.streams import StreamDraft
from tests.conftest import ALICE, FILE_RECORDING
from tests.fakes.livekit import FakeLiveKit

CAROL = Identity(user_id=1003, username="carol", display_name="Carol")
# The egress starts composing a few seconds after golive asks: the file starts then.
EGRESS_START_SECONDS = 3


@dataclass(frozen=True)
class Line:
    """A chat message written `at` seconds into the recording."""

    at: int
    who: Identity
    text: str


def record_to(services: Services, folder: Path) -> None:
    """Record every stream into `folder`, which golive reaches (recording.local_dir)."""
    services.recording.config = dataclasses.replace(
        FILE_RECORDING, record_all=True, local_dir=folder
    )


async def make_page(services: Services, who: Identity = ALICE) -> None:
    if await services.streams.find_by_owner(who.user_id) is None:
        await services.streams.create(
            owner_id=who.user_id,
            username=who.username,
            display_name=who.display_name,
            draft=StreamDraft(title="Painting live"),
        )


async def record_stream(
    services: Services,
    livekit: FakeLiveKit,
    clock: ManualClock,
    lines: list[Line],
    *,
    seconds: int = 12,
    who: Identity = ALICE,
    video: bytes = b"not really a video",
    suffix: str = ".mp4",
) -> Recording:
    """Go live, chat `lines` at their moments, end, and let the egress finish the file.

    The file's bytes are written where the egress would put them (under local_dir, when set).
    """
    await make_page(services, who)
    await services.streams.go_live(who.user_id)
    await services.events.drain()
    [info] = [e for e in livekit.egresses.values() if not e.file_results]
    clock.advance(EGRESS_START_SECONDS)
    media_start_ns = int(clock.now().timestamp()) * 1_000_000_000
    stream = await services.streams.get_by_owner(who.user_id)
    elapsed = 0
    for line in sorted(lines, key=lambda line: line.at):
        clock.advance(line.at - elapsed)
        elapsed = line.at
        await services.chat.post(
            stream, ChatAuthor(line.who.user_id, line.who.display_name), line.text
        )
    clock.advance(max(0, seconds - elapsed))
    await services.streams.end(who.user_id)
    await services.events.drain()
    livekit.set_egress_status(info.egress_id, lk_egress.EgressStatus.EGRESS_COMPLETE)
    path = info.room_composite.file_outputs[0].filepath.removesuffix(".mp4") + suffix
    info.file_results.append(
        lk_egress.FileInfo(
            filename=path,
            started_at=media_start_ns,
            duration=seconds * 1_000_000_000,
            size=len(video),
            location=path,
        )
    )
    folder = services.recording.config.local_dir
    if folder is not None:
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(video)
    assert await services.webhooks.receive(livekit.event("egress_ended", egress_info=info))
    [vod, *_] = await services.recording.list_vods(stream.id)
    return vod
