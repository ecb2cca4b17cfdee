"""CAD command libraries: the file format, loading, and live reload."""
