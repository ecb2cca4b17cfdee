"""Thin HTTP handlers: parse, call a plain module, answer JSON."""
