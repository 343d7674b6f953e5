"""The aiohttp web sidecar: JSON API, LiveKit webhooks later, and the watch/studio pages."""
