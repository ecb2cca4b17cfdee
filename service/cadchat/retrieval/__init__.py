"""Offline retrieval over CAD command libraries and user codes."""
