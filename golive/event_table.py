"""Who reacts to what: every subscription in golive, read top to bottom.

Inline handlers run inside the publisher's call, before the request, command or webhook is
answered: only what must be consistent with that answer. Background handlers start once the
publisher returns and nobody waits for them: work of this process that may be lost with it.
Durable handlers (effects elsewhere: Discord, room packets, LiveKit egress and ingress) get the
event through the outbox, written in the publisher's transaction: delivered at least once, by
whichever process runs them (Discord ones by the bot, the others by any process), at once in
the publishing process and within a poll
(≤ 250 ms) in another; each claims its effect, so a redelivery never repeats it. A handler that
fails is logged; a durable one is tried again with backoff, and the scheduler's catch-up and the
page's history poll remain behind that.

`docs/architecture.md` ("The event table") shows the same table as prose; a test keeps the two
in step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.chat import ChatMessageHidden, ChatMessagePosted
from core.kernel.events import Subscription, background, durable, inline
from core.live import ObsProblem, RecordingRefused, WebhookHandler
from core.moderation import SanctionEvent
from core.money import Renewal, TipEvent
from core.services import Services
from core.stage import StageChanged
from core.streams import StreamEnded, StreamMediaStarted, StreamWentLive

if TYPE_CHECKING:
    from bot.app import GoLiveBot
    from web.metrics import Metrics


def domain_events(s: Services) -> list[Subscription]:
    """Reactions inside the domain and towards LiveKit; run in every process."""
    return [
        # A chat ban hides the member's messages before /mod ban answers "done".
        inline(SanctionEvent, s.chat.hide_messages_of_banned),
        # Viewers see new and hidden messages over LiveKit data (topic chat): queuing is instant
        # and keeps the room's order; the room's sender sends what queued in the background.
        inline(ChatMessagePosted, s.chat.queue_for_room),
        inline(ChatMessageHidden, s.chat.queue_for_room),
        # And tips (topic tips), from any process.
        durable(TipEvent, s.tips.show_in_room),
        # LiveKit work after a session's change goes through the outbox too: a process that
        # stops (or a LiveKit that doesn't answer) between the commit and the call only delays
        # it. Each compares with (or claims) the state first, so a redelivery does it once.
        # A stream page's OBS ingress follows the stream into each new room, and is re-armed
        # on a fresh room when the stream ends.
        durable(StreamWentLive, s.ingress.follow_stream),
        durable(StreamEnded, s.ingress.follow_stream),
        # Recording starts with the session (if the streamer or the server wants it) and stops
        # with it; its state shows in /vods and on the page once LiveKit answers.
        durable(StreamWentLive, s.recording.follow_stream),
        durable(StreamEnded, s.recording.follow_stream),
        # Thumbnails (an image egress) start when the stream is on air (its first video) and
        # stop with it; LiveKit refusing leaves the cards' gradient, nothing else.
        durable(StreamMediaStarted, s.thumbnails.follow_stream),
        durable(StreamEnded, s.thumbnails.follow_stream),
        # The stage: hands clear, invitations lapse and guests step off when the stream ends;
        # a banned, timed-out or kicked member leaves every stage; pages in the room are told
        # to fetch the stage again when it changes (they also poll).
        durable(StreamEnded, s.stage.close_for_stream_end),
        background(SanctionEvent, s.stage.on_sanction),
        durable(StageChanged, s.stage.tell_room),
    ]


def livekit_webhooks(s: Services) -> list[tuple[str, WebhookHandler]]:
    """LiveKit webhook kinds → handlers that apply them inside the webhook's own transaction
    (with the dedupe row, so an event is applied exactly once); LiveKit work they need runs
    after the commit."""
    return [
        ("participant_joined", s.live.apply_participant_joined),
        ("participant_left", s.live.apply_participant_left),
        ("participant_connection_aborted", s.live.apply_participant_left),
        ("track_published", s.live.apply_track_change),
        ("track_unpublished", s.live.apply_track_change),
        ("room_finished", s.live.apply_room_finished),
        # A guest whose connection left is off stage (a new tab joins as a viewer).
        ("participant_left", s.stage.apply_participant_left),
        ("participant_connection_aborted", s.stage.apply_participant_left),
        ("ingress_started", s.ingress.apply_ingress_started),
        ("ingress_ended", s.ingress.apply_ingress_ended),
        # An OBS track can be the first sign of an ingress going live.
        ("track_published", s.ingress.apply_track_published),
        ("egress_started", s.recording.apply_egress),
        ("egress_updated", s.recording.apply_egress),
        ("egress_ended", s.recording.apply_egress),
        ("egress_started", s.thumbnails.apply_egress),
        ("egress_updated", s.thumbnails.apply_egress),
        ("egress_ended", s.thumbnails.apply_egress),
    ]


def discord_events(bot: GoLiveBot) -> list[Subscription]:
    """The Discord front's reactions; delivered only in a process with a bot, all durable.
    Each claims its action in the database first, so a redelivery or a catch-up never repeats
    it; DMs, which can't be looked up afterwards, are never run twice (`repeat=False`)."""
    return [
        # One announcement per session and guild, once the stream is on air (its first video,
        # not the go-live press); on end it becomes a summary with a chart.
        durable(StreamMediaStarted, bot.announcer.on_stream_event),
        durable(StreamEnded, bot.announcer.on_stream_event),
        # Live role on, follower DMs out, on air too; the role comes off when the stream ends.
        durable(StreamMediaStarted, bot.live_alerts.on_stream_event),
        durable(StreamEnded, bot.live_alerts.on_stream_event),
        # The stream's Discord thread gets the page's messages and loses hidden ones; it is
        # closed when the stream ends.
        durable(ChatMessagePosted, bot.chat_bridge.on_chat_event),
        durable(ChatMessageHidden, bot.chat_bridge.on_chat_event),
        durable(StreamEnded, bot.chat_bridge.on_stream_event),
        # DMs: a tip to the streamer, a pass renewal to its member; to the owner, why OBS couldn't
        # take them live or why the recording they wanted didn't start.
        durable(TipEvent, bot.money_notices.alert_streamer, repeat=False),
        durable(Renewal, bot.money_notices.tell_renewal, repeat=False),
        durable(ObsProblem, bot.stream_problems.on_obs_problem, repeat=False),
        durable(RecordingRefused, bot.stream_problems.on_recording_refused, repeat=False),
    ]


def metrics_events(metrics: Metrics) -> list[Subscription]:
    """Counters for GET /metrics (only when `metrics.enabled`); inline: a counter costs less
    than the task a background row would start."""
    return [
        inline(ChatMessagePosted, metrics.count_chat_message),
        inline(TipEvent, metrics.count_tip),
    ]
