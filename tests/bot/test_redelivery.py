"""Every Discord consumer of the outbox may get an event twice (its process died after acting,
before marking the delivery done): members never see anything twice."""

from __future__ import annotations

from core.chat.service import ChatAuthor
from core.services import Services
from tests.bot.helpers import go_live, posts, setup_announcements
from tests.bot.test_chat_bridge import webhook_posts
from tests.conftest import World


def announcements(world: World) -> list[object]:
    # SimCord keeps a webhook's thread copies in the parent channel: announcements have embeds.
    return [m for m in posts(world.announcements) if m.embeds]


async def deliver_everything_again(world: World, services: Services) -> int:
    """As if each process had died before marking its deliveries: all pending again."""
    async with services.db.transaction() as tx:
        again = await tx.execute(
            "UPDATE outbox_deliveries SET done_at = NULL, available_at = NULL, claimed_by = NULL"
            " WHERE consumer NOT LIKE 'MoneyNotices.%' AND consumer NOT LIKE 'StreamProblem%'"
        )
    await services.outbox.drain()
    await world.env.settle()
    return again


async def test_a_redelivered_go_live_and_chat_message_post_nothing_twice(
    world: World, services: Services
) -> None:
    await setup_announcements(world)
    await go_live(world)
    stream = await services.streams.get_by_owner(world.alice.id)
    await services.chat.post(stream, ChatAuthor(4242, "Web Viewer"), "only once")
    await services.outbox.drain()
    await world.env.settle()
    assert len(announcements(world)) == 1
    assert len([r for r in webhook_posts(world) if r.json["content"] == "only once"]) == 1

    assert await deliver_everything_again(world, services) >= 3  # on air x2, the message
    assert len(announcements(world)) == 1
    assert len([r for r in webhook_posts(world) if r.json["content"] == "only once"]) == 1

    await services.streams.end(world.alice.id)
    await services.outbox.drain()
    await world.env.settle()
    [thread] = world.announcements.threads
    closing = [m for m in thread.history() if "chat is closed" in (m.content or "")]
    await deliver_everything_again(world, services)
    assert [m for m in thread.history() if "chat is closed" in (m.content or "")] == closing
    assert len(closing) == 1
