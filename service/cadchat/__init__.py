"""CADChat server: CAD command retrieval, AutoLISP chat and user code storage."""

__version__ = "0.1.0"
SERVICE_NAME = "cadchat"
