"""golive's domain: services, the store and the LiveKit gateway. Knows nothing of Discord or HTTP."""
