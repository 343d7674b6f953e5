"""A command whose write can't be done now (the database's write lock held by another process)
tells the member privately to try again in a moment, and works once the lock is free."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from core.config.settings import Settings
from core.kernel.errors import StorageUnavailable
from core.services import Services
from tests.bot.helpers import domain_errors
from tests.conftest import World
from tests.core.store.lock_holder import write_lock_held


@pytest.fixture
def settings(settings: Settings) -> Settings:
    database = dataclasses.replace(settings.database, busy_timeout=timedelta(seconds=1))
    return dataclasses.replace(settings, database=database)


async def test_a_command_that_cannot_write_now_says_try_again_in_a_moment(
    world: World, services: Services, settings: Settings
) -> None:
    form = {"stream:title": "Painting live", "stream:description": "Watercolours"}
    async with write_lock_held(settings.database.target) as lock:
        shown = await world.alice.slash(world.general, "stream create")
        refused = await world.alice.submit_modal(shown, form)
        await lock.release()
    assert refused.ephemeral
    assert "try again in a moment" in refused.response.content
    assert set(domain_errors(world)) == {StorageUnavailable}
    assert await services.streams.find_by_owner(world.alice.id) is None

    shown = await world.alice.slash(world.general, "stream create")
    created = await world.alice.submit_modal(shown, form)
    assert created.ephemeral
    assert await services.streams.find_by_owner(world.alice.id) is not None
