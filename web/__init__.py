"""The aiohttp web sidecar: the JSON API, LiveKit and Stripe webhooks, and the pages."""
