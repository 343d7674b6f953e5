"""LiveKit: the server API gateway (typed errors) and access tokens.

The public module: other packages import from here, never from the modules inside."""

from core.livekit.gateway import IngressProtocol, LiveKitGateway, Role, TokenMinter

__all__ = ["IngressProtocol", "LiveKitGateway", "Role", "TokenMinter"]
