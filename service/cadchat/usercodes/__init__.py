"""User code storage (issue 3): the on-disk store, legacy import, LISP preview, popularity."""
