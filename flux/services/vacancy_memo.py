"""What a work list remembers between requests, per process: each vacancy's replay, and what
the API made of its description, keyed by everything they depend on.

A 500-row page spent most of its time replaying every vacancy from its decoded entries,
describing it (explanation lines, the sentence of its orientation) and writing it as JSON,
although from one request to the next almost none of them changes. The journal is
append-only and an entry is never updated, so a vacancy's entries are known by the ids and
recording times of its entries (read in one light statement, without their payloads): while
they are the same, the replay is the same. Its description depends, besides, on the share
labels it names (conventions, reservers), on whose eyes read it (a reserver sees its own
shares' figures only) and on `compact`; never on today's date (the deadline fields, which do,
are computed per request). A change to any of these is a new key: nothing is ever served
stale, an unused key is simply forgotten, oldest first.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux.domain.allocation import LANDLORD
from flux.models import JournalEntry
from flux.services import vacancies

T = TypeVar("T")

# A few pages of each kind for each kind of reader. A description is a few kilobytes of text;
# a replay holds its decoded payloads (~45 objects for the garbage collector to walk).
REPLAYS_KEPT = 5_000
DESCRIPTIONS_KEPT = 5_000

EntriesPrint = tuple[tuple[int, Any], ...]


class Lru(Generic[T]):
    """A bounded mapping that forgets the least recently used key first (thread-safe)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: dict[Hashable, T] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> T | None:
        with self._lock:
            value = self._data.pop(key, None)
            if value is not None:
                self._data[key] = value
            return value

    def put(self, key: Hashable, value: T) -> None:
        with self._lock:
            self._data.pop(key, None)
            self._data[key] = value
            while len(self._data) > self.size:
                del self._data[next(iter(self._data))]

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


@dataclass(frozen=True)
class Known:
    """A vacancy replayed, with what identifies its entries and the shares it names."""

    entries: EntriesPrint
    state: vacancies.Replayed
    shares: frozenset[int]  # the explanation's shares and the holder (their labels are read)
    named: frozenset[int]  # and the shares its entries name (a reserver sees its own only)


replays: Lru[Known] = Lru(REPLAYS_KEPT)
descriptions: Lru[tuple[Any, dict[str, Any]]] = Lru(DESCRIPTIONS_KEPT)


def entries_prints(session: Session, ids: list[int]) -> dict[int, EntriesPrint]:
    """Each vacancy's entries, known by their ids and recording times (no payload read)."""
    wanted = set(ids)
    found: dict[int, list[tuple[int, Any]]] = defaultdict(list)
    rows = session.connection().execute(
        sa.select(
            JournalEntry.id,
            JournalEntry.vacancy_id,
            # As stored: only compared, never read as a time.
            sa.type_coerce(JournalEntry.recorded_at, sa.String),
        ).where(sa.or_(JournalEntry.id.in_(wanted), JournalEntry.vacancy_id.in_(wanted)))
    )
    for entry_id, vacancy_id, recorded_at in rows:
        owner = vacancy_id if vacancy_id in wanted else entry_id
        found[owner].append((entry_id, recorded_at))
    return {i: tuple(sorted(found[i])) for i in ids}


def known(entries: EntriesPrint, state: vacancies.Replayed) -> Known:
    shares = {
        int(line["share"])
        for line in (state.orientation.payload["explanation"] if state.orientation else [])
        if line["share"] != LANDLORD
    }
    if state.holder not in (None, LANDLORD):
        shares.add(int(state.holder))
    named = {e.share_id for e in state.entries if e.share_id is not None}
    return Known(entries, state, frozenset(shares), frozenset(shares | named))


class LabelPrints:
    """What each share's label is, as a comparable value, for the label maps of one request
    (a handful of maps, shared by the vacancies of the same dates)."""

    def __init__(self) -> None:
        self._maps: dict[int, tuple[dict[int, dict], dict[int, str | None]]] = {}

    def of(self, labels: dict[int, dict], shares: frozenset[int]) -> tuple[Any, ...]:
        memo = self._maps.get(id(labels))
        if memo is None:
            memo = self._maps[id(labels)] = (labels, {})
        prints = memo[1]
        out = []
        for share in sorted(shares):
            if share not in prints:
                info = labels.get(share)
                prints[share] = None if info is None else repr(info)
            out.append((share, prints[share]))
        return tuple(out)


__all__ = ["Known", "LabelPrints", "Lru", "descriptions", "entries_prints", "known", "replays"]
