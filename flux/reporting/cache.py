"""The rows of a closed year, kept per (scope, year, closing) and reused (issue 13).

A closed year's figures never move (its close froze them; later entries are late entries, whose
effect goes to the next year). So the rows a bilan draws from one scope's closed year
(``annual.ScopeRows``: reading the journal is most of a bilan's time) are made once and kept.

Where: the ``report_facts`` table, one row per scope, year, view (the reserver whose bilan it is,
0 for every row) and key, the rows pickled. In the database rather than in a process: every web
worker, the scheduler and the CLI share it, and it survives restarts. The pickles are Flux's own
rows read back by Flux (never anything a user sent).

Invalidation: by the key, which names everything the rows are made from that could change:
- the year's ``year_closed`` entry and the previous year's (the previous year's late entries are
  listed in this one's bilan);
- the last late carry adjustment written for either year: a late entry that changes a closed
  year adds one (``year_close.adjust_late``), hence a new key;
- a digest of the reference data the rows name (landlord, reservers, shares and their terms,
  communes): a renamed reserver or an amended convention gives a new key;
- the code: ``VERSION`` and a digest of the source of the modules the rows come from (the
  facts, the bilan's parts, the checks, the allocation and reconciliation rules), so that a new
  release never reads rows an older one made.
A new key finds nothing and the rows are made again; the rows of older keys of the same scope,
year and view are deleted when the new ones are stored. An open year is never kept.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from flux.models import JournalEntry, ReportFacts
from flux.reporting.annual import ScopeRows
from flux.reporting.catalogue import Catalogue
from flux.services import year_close
from flux.services.allocation_book import Scope
from flux.services.journal import Kind

VERSION = 1


def _code_digest() -> str:
    """The source of the modules the rows come from: a change to how any figure, check or
    label is made (a new release) gives new keys, without anyone remembering to bump VERSION."""
    from flux.domain import allocation, obligations, reconciliation
    from flux.reporting import annual, catalogue, checks, facts, frames, late_entries

    digest = hashlib.sha256()
    for module in (
        annual,
        catalogue,
        checks,
        facts,
        frames,
        late_entries,
        allocation,
        obligations,
        reconciliation,
    ):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()[:16]


CODE = _code_digest()


@dataclass(frozen=True)
class Keys:
    """What the keys of a report's scopes are made from, read once for all of them."""

    year: int
    closings: dict[tuple[Scope, int], year_close.Closing]
    late_carries: dict[Scope, int]  # the last late carry adjustment of N-1 or N, by scope
    _communes: dict[str, str] = field(default_factory=dict)  # département -> digest

    def key(self, scope: Scope, catalogue: Catalogue) -> str | None:
        """The scope's key, or None while its year is open (nothing is kept)."""
        closing = self.closings.get((scope, self.year))
        if closing is None:
            return None
        previous = self.closings.get((scope, self.year - 1))
        return (
            f"v{VERSION}-{CODE}:{closing.entry_id}:{previous.entry_id if previous else 0}:"
            f"{self.late_carries.get(scope, 0)}:{self._digest(scope, catalogue)}"
        )

    def _digest(self, scope: Scope, catalogue: Catalogue) -> str:
        code = scope.departement
        if code not in self._communes:
            communes = sorted(
                (insee, info)
                for insee, info in catalogue.communes.items()
                if insee.startswith(code)
            )
            self._communes[code] = repr((catalogue.departements.get(code), communes))
        shares = catalogue.scope_shares(scope)
        named = {scope.landlord_id, *(info.reserver_id for info in shares)}
        text = repr(
            (
                shares,
                sorted((i, catalogue.organisations.get(i), catalogue.codes.get(i)) for i in named),
                self._communes[code],
            )
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def keys(
    session: Session, year: int, closings: dict[tuple[Scope, int], year_close.Closing]
) -> Keys:
    """One query for every scope's last late carry adjustment (carry-over entries of N or
    later: N-1's close wrote its carries into N, adjustments go to the first open year)."""
    stmt = (
        sa.select(
            JournalEntry.landlord_id,
            JournalEntry.departement_code,
            sa.func.max(JournalEntry.id),
        )
        .where(JournalEntry.kind == Kind.CARRY_OVER, JournalEntry.period >= year)
        .group_by(JournalEntry.landlord_id, JournalEntry.departement_code)
    )
    late = {Scope(landlord, code): int(last) for landlord, code, last in session.execute(stmt)}
    return Keys(year, closings, late)


def get(session: Session, scope: Scope, year: int, view: int | None, key: str) -> ScopeRows | None:
    found = session.scalar(
        sa.select(ReportFacts.rows).where(
            ReportFacts.landlord_id == scope.landlord_id,
            ReportFacts.departement_code == scope.departement,
            ReportFacts.year == year,
            ReportFacts.view == (view or 0),
            ReportFacts.key == key,
        )
    )
    return None if found is None else pickle.loads(found)  # noqa: S301 (Flux's own rows)


def put(
    session: Session, year: int, view: int | None, made: Iterable[tuple[str, ScopeRows]]
) -> int:
    """Keep the rows made for closed years (replacing those of older keys); the caller
    commits. Two requests storing the same rows at once: the second one's are dropped."""
    stored = 0
    for key, rows in made:
        scope = rows.scope
        where = (
            ReportFacts.landlord_id == scope.landlord_id,
            ReportFacts.departement_code == scope.departement,
            ReportFacts.year == year,
            ReportFacts.view == (view or 0),
        )
        try:
            with session.begin_nested():
                session.execute(sa.delete(ReportFacts).where(*where, ReportFacts.key != key))
                session.add(
                    ReportFacts(
                        landlord_id=scope.landlord_id,
                        departement_code=scope.departement,
                        year=year,
                        view=view or 0,
                        key=key,
                        rows=pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL),
                    )
                )
            stored += 1
        except IntegrityError:
            continue
    return stored
