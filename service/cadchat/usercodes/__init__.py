"""User code storage: the on-disk store, legacy import, LISP preview, popularity."""
