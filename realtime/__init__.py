"""Realtime: keep DRF-served objects live over one WebSocket, and never lose an event."""
