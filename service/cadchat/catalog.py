"""What retrieval answers from: the live library snapshot plus users' saved programs."""

from __future__ import annotations

from cadchat.library.model import Command
from cadchat.library.store import Library, LibraryStore, rank_key
from cadchat.retrieval.index import Hit, SearchIndex, analyze_query, document_features, search


class Catalog:
    def __init__(self, library: LibraryStore) -> None:
        self._library = library
        self.user_programs: SearchIndex[Command] = SearchIndex(tie_key=rank_key)
        self._user_changes = 0

    @property
    def generation(self) -> tuple[int, int]:
        """Changes whenever any answer could change: a library swap or a user program edit."""
        return (self._library.current.version, self._user_changes)

    @property
    def library(self) -> Library:
        return self._library.current

    def search(self, text: str, limit: int) -> list[Hit[Command]]:
        query = analyze_query(text)
        return search((self.library.index, self.user_programs), query, limit, rank_key)

    def put_user_program(self, command: Command) -> None:
        """Add or replace a saved user code; it is searchable from the next request on."""
        self._user_changes += 1
        self.user_programs.add(
            command.id, command, document_features(command.name, command.aliases, command.description)
        )

    def remove_user_program(self, code_id: int | str) -> bool:
        self._user_changes += 1
        return self.user_programs.remove(code_id)

    def __len__(self) -> int:
        return len(self.library.commands) + len(self.user_programs)
