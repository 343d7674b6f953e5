"""Live chat: checks, storage and fan-out of messages.

The public module: other packages import from here, never from the modules inside."""

from core.chat.service import (
    ChatAuthor,
    ChatEvent,
    ChatMessage,
    ChatMessageHidden,
    ChatMessagePosted,
    ChatService,
    ChatThread,
    message_json,
)

__all__ = [
    "ChatAuthor",
    "ChatEvent",
    "ChatMessage",
    "ChatMessageHidden",
    "ChatMessagePosted",
    "ChatService",
    "ChatThread",
    "message_json",
]
