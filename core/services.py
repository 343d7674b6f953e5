"""Every service, built once by the composition root (golive/bootstrap.py) for both fronts."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from core.accounts import AuthService, DiscordSignIn
from core.chat import ChatService
from core.community import CommunityService, FollowService, GuildService, StatsService
from core.config import Settings
from core.discovery import PlaceDirectory, SearchService
from core.kernel.clock import Clock
from core.kernel.events import EventBus
from core.live import (
    IngressService,
    LiveEventService,
    RecordingService,
    StreamHealthService,
    ThumbnailService,
    WebhookInbox,
)
from core.livekit import LiveKitGateway, TokenMinter
from core.moderation import ModerationService
from core.money import (
    Ledger,
    PassService,
    PayoutService,
    TipService,
    TopupService,
)
from core.stage import StageService
from core.store import Database, Outbox
from core.streams import StreamService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    settings: Settings
    clock: Clock
    db: Database
    events: EventBus
    outbox: Outbox
    livekit: LiveKitGateway
    tokens: TokenMinter
    streams: StreamService
    guilds: GuildService
    auth: AuthService
    discord_sign_in: DiscordSignIn
    ledger: Ledger
    tips: TipService
    passes: PassService
    payouts: PayoutService
    topups: TopupService
    places: PlaceDirectory
    search: SearchService
    moderation: ModerationService
    chat: ChatService
    webhooks: WebhookInbox
    live: LiveEventService
    follows: FollowService
    community: CommunityService
    stats: StatsService
    ingress: IngressService
    recording: RecordingService
    thumbnails: ThumbnailService
    health: StreamHealthService
    stage: StageService
