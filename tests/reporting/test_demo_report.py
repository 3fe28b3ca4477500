"""The bilan annuel of the demo's 2025, recomputed independently from the journal's entries.

The report folds the journal with the allocation engine and follows each vacancy once; these
tests count the same figures the plain way (ORM rows, sets and counters, no engine) and compare.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from flux import create_app
from flux.db import db
from flux.domain import allocation
from flux.domain.reference import Role
from flux.models import Convention, JournalEntry, Organisation, Share
from flux.reporting.annual import LANDLORD_RESERVER
from flux.services import allocation_book, reports, scope_conventions
from flux.services.access import SYSTEM, Actor

ACTIVITY_UNTIL = date(2026, 11, 21)
YEAR = 2025
LANDLORDS = ("oph-demo-garonne", "esh-demo-pastel", "coop-demo-lauragais")


@pytest.fixture(scope="module")
def loaded(demo_copy):
    """A copy of the session's demo (2025 and 2026 to 21 November), read-only here; reports
    are asked as of 1 March 2026: what the journal holds after that day must not count."""
    url, _ = demo_copy(ACTIVITY_UNTIL)
    allocation_book.clear_cache()
    scope_conventions.clear_cache()
    app = create_app({"ENV": "test", "DATABASE_URL": url, "TESTING": True})
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def session(loaded):
    with loaded.app_context():
        yield db.session
        db.session.rollback()


@pytest.fixture
def everything(session):
    return reports.annual(session, SYSTEM, reports.ReportQuery(YEAR), today=date(2026, 3, 1))


def _ids(session) -> dict[str, int]:
    return dict(session.execute(sa.select(Organisation.code, Organisation.id)).all())


def _reserver_of_share(session) -> dict[int | None, str]:
    """Share id -> its reserver's name; None (the landlord part) -> the landlord part's."""
    rows = session.execute(
        sa.select(Share.id, Organisation.name)
        .join(Convention, Share.convention_id == Convention.id)
        .join(Organisation, Convention.reserver_id == Organisation.id)
    )
    return {**dict(rows.all()), None: LANDLORD_RESERVER}


def _landlord_names(session) -> dict[int, str]:
    return dict(session.execute(sa.select(Organisation.id, Organisation.name)).all())


class Journal:
    """The year's entries, followed the plain way."""

    def __init__(self, session) -> None:
        entries = list(
            session.scalars(
                sa.select(JournalEntry).where(JournalEntry.period == YEAR).order_by("id")
            )
        )
        # The demo closes 2025 on 1 January 2026 (as the scheduler would): a closed year's
        # figures are those of the entries its close includes; later ones are late entries.
        closes = {
            (e.landlord_id, e.departement_code): e.payload["through_id"]
            for e in entries
            if e.kind == "year_closed"
        }
        assert closes, "the demo's 2025 is closed"
        entries = [
            e
            for e in entries
            if e.kind != "year_closed"
            and e.id <= closes.get((e.landlord_id, e.departement_code), e.id)
        ]
        self.reversed = {e.reverses_id for e in entries if e.kind == "correction"}
        self.withdrawn = {e.vacancy_id for e in entries if e.kind == "withdrawal"}
        self.logged = {e.id: e for e in entries if e.kind == "vacancy_logged"}
        self.entries = [e for e in entries if e.id not in self.reversed]

    def live(self, kind: str) -> list[JournalEntry]:
        return [e for e in self.entries if e.kind == kind and e.vacancy_id not in self.withdrawn]

    def counted(self) -> list[JournalEntry]:
        """The vacancies in the flux: neither deducted nor withdrawn."""
        return [
            e
            for e in self.logged.values()
            if e.payload["deduction"] is None and e.id not in self.withdrawn
        ]

    def holders(self) -> dict[int, int | None]:
        """Each counted vacancy's holder at the end (None: the landlord part)."""
        holder: dict[int, int | None] = {}
        for entry in self.entries:
            if entry.vacancy_id in self.withdrawn:
                continue
            if entry.kind == "orientation":
                chosen = entry.payload["chosen"]
                holder[entry.vacancy_id] = None if chosen == "landlord" else chosen
            elif entry.kind == "override":
                to = entry.payload["to"]
                holder[entry.vacancy_id] = None if to == "landlord" else to
            elif entry.kind in ("carence", "take_back") and not entry.payload["counted"]:
                holder[entry.vacancy_id] = None
        return holder


def _rows(report, key: str) -> list[dict]:
    part = report.part(key)
    records = part.frame.to_dict("records")
    return records[:-1] if part.total else records


def test_every_total_row_is_the_sum_of_the_rows_above(everything):
    """Except the shares' eligible vacancies, whose total is the flux: distinct vacancies
    (each counted once in the realised of one share or the landlord part), and the ids."""
    shares = everything.part("shares").frame
    total = shares.iloc[-1]
    assert total["eligible"] == total["realised"] < sum(shares.iloc[:-1]["eligible"])
    synthesis = everything.part("synthesis").frame
    assert synthesis.iloc[-1]["landlords"] == len(set(shares.iloc[:-1]["landlord_id"]))
    for part in everything.parts:
        if not part.total:
            continue
        frame = part.frame
        total, rows = frame.iloc[-1], frame.iloc[:-1]
        first_text = next(c.key for c in part.columns if c.kind == "text")
        assert total[first_text] == "Total", part.key
        for column in part.columns:
            if (part.key, column.key) in (("shares", "eligible"), ("synthesis", "landlords")):
                continue  # the flux, and the landlords: distinct, not sums
            if column.kind in ("integer", "dwellings") and not column.machine:
                expected = sum((v for v in rows[column.key] if v is not None), 0)
                assert total[column.key] == expected, (part.key, column.key)
                assert type(total[column.key]) is (int if column.kind == "integer" else Decimal)
            elif column.key != first_text:
                assert total[column.key] is None, (part.key, column.key)
    assert len(_rows(everything, "shares")) > 10
    assert len(_rows(everything, "breakdown")) > 100


def test_proposed_and_attributed_per_landlord_and_reserver_match_the_journal(session, everything):
    journal, reserver, landlord = Journal(session), _reserver_of_share(session), None
    names = _landlord_names(session)
    proposed: Counter = Counter()
    for entry in journal.live("orientation"):
        landlord = names[entry.landlord_id]
        chosen = entry.payload["chosen"]
        proposed[landlord, reserver[None if chosen == "landlord" else chosen]] += 1
    for entry in journal.live("override"):
        to = entry.payload["to"]
        proposed[names[entry.landlord_id], reserver[None if to == "landlord" else to]] += 1
    last_attribution = {e.vacancy_id: e for e in journal.live("cal_attribution")}
    attributed = Counter(
        (names[e.landlord_id], reserver[e.share_id]) for e in last_attribution.values()
    )

    shares_proposed: Counter = Counter()
    shares_attributed: Counter = Counter()
    for row in _rows(everything, "shares"):
        shares_proposed[row["landlord"], row["reserver"]] += row["proposed"]
        shares_attributed[row["landlord"], row["reserver"]] += row["attributed"]
    breakdown_proposed: Counter = Counter()
    for row in _rows(everything, "breakdown"):
        breakdown_proposed[row["landlord"], row["reserver"]] += row["proposed"]

    assert sum(proposed.values()) > 300
    assert +shares_proposed == +proposed
    assert +breakdown_proposed == +proposed
    assert +shares_attributed == +attributed


def test_the_breakdown_counts_each_dwelling_as_it_was_when_freed(session, everything):
    """Per commune and typology, from the snapshot in each vacancy_logged entry."""
    journal, reserver = Journal(session), _reserver_of_share(session)
    expected: Counter = Counter()
    last_attribution = {e.vacancy_id: e for e in journal.live("cal_attribution")}
    for vacancy_id, entry in last_attribution.items():
        snapshot = journal.logged[vacancy_id].payload
        period = snapshot["construction_year"]
        expected[
            reserver[entry.share_id],
            snapshot["typology"],
            snapshot["financing"],
            "en QPV" if snapshot["qpv"] else "hors QPV",
            snapshot["commune"],
            period < 1975,
        ] += 1
    found: Counter = Counter()
    for row in _rows(everything, "breakdown"):
        old = row["construction_period"] in ("avant 1949", "1949 à 1974")
        key = (
            row["reserver"],
            row["typology"],
            row["financing"],
            row["qpv"],
            row["commune"],
            old,
        )
        found[key] += row["attributed"]

    assert +found == +expected


def test_targets_realised_and_eligible_match_a_plain_count(session, everything):
    journal, names = Journal(session), _landlord_names(session)
    shares = dict(
        session.execute(
            sa.select(Share.id, Organisation.name)
            .join(Convention, Share.convention_id == Convention.id)
            .join(Organisation, Convention.landlord_id == Organisation.id)
        ).all()
    )
    target: Counter = Counter()
    eligible: Counter = Counter()
    for entry in journal.counted():
        for share_id, basis_points, _keys in entry.payload["eligible"]:
            target[share_id] += basis_points
            eligible[share_id] += 1
    realised = Counter(holder for holder in journal.holders().values() if holder is not None)

    found = 0
    info = {
        (row["landlord"], row["convention"], row["share"]): row
        for row in _rows(everything, "shares")
    }
    labels = _share_keys(session)
    for share_id, units in target.items():
        row = info[labels[share_id]]
        assert row["landlord"] == names[session.get(Share, share_id).convention.landlord_id]
        assert row["target"] == Decimal(units) / 10_000
        assert row["eligible"] == eligible[share_id]
        assert row["realised"] == realised[share_id]
        assert row["carry_in"] == 0
        found += 1
    assert found == len(target) > 10
    assert set(shares) >= set(target)


def _share_keys(session) -> dict[int, tuple[str, str, str]]:
    """Share id -> (landlord name, convention reference, label in force at the end of 2025)."""
    keys = {}
    on = date(YEAR, 12, 31)
    for share in session.scalars(sa.select(Share)):
        convention = share.convention
        version = [v for v in convention.versions if v.effective_from <= on][-1]
        label = next(t.label for t in version.share_terms if t.share_id == share.id)
        keys[share.id] = (convention.landlord.name, convention.reference, label)
    return keys


def test_deductions_by_category_match_the_journal_and_the_forecasts(session, everything):
    journal, names = Journal(session), _landlord_names(session)
    actual = Counter(
        (names[e.landlord_id], e.payload["deduction"])
        for e in journal.logged.values()
        if e.payload["deduction"] and e.id not in journal.withdrawn
    )
    labels = {
        "Mutations internes": "internal_transfer",
        "Relogements ANRU / NPNRU": "urban_renewal",
        "Relogements ORCOD (copropriétés dégradées)": "degraded_condo",
        "Relogements habitat indigne (L.521-3-1 à L.521-3-3)": "unfit_housing",
        "Relogements liés à la vente de logements sociaux": "sale",
    }
    rows = _rows(everything, "deductions")

    assert len(rows) == 5 * len(LANDLORDS)
    for row in rows:
        category = labels[row["category"]]
        assert row["actual"] == actual[row["landlord"], category]
        assert row["forecast"] is not None  # the demo declares every category
        assert row["difference"] == row["actual"] - row["forecast"]
    assert sum(row["actual"] for row in rows) == sum(actual.values()) > 0


def test_the_closed_year_is_final_and_carries_what_its_close_wrote(everything, session):
    shares = _rows(everything, "shares")

    assert everything.meta.closed is True
    assert {row["carry_out_status"] for row in shares} == {"définitif"}
    for row in shares:
        if row["counting_event"] == "orientation":
            assert row["counted"] == row["realised"]
        assert row["gap"] == row["counted"] - row["target"]
    written = session.scalars(
        sa.select(JournalEntry).where(
            JournalEntry.kind == "carry_over", JournalEntry.period == YEAR + 1
        )
    ).all()
    at_close = sum(Decimal(e.payload["units"]) / 10000 for e in written if not e.payload["late"])
    assert sum(row["carry_out"] for row in shares) == at_close == 0
    assert sum(abs(row["carry_out"]) for row in shares) == sum(
        abs(Decimal(e.payload["units"]) / 10000) for e in written if not e.payload["late"]
    )


def test_an_open_year_is_provisional_and_carries_what_its_close_would(session):
    report = reports.annual(session, SYSTEM, reports.ReportQuery(YEAR + 1), today=date(2026, 3, 1))
    shares = _rows(report, "shares")

    assert report.meta.closed is False
    assert {row["carry_out_status"] for row in shares} == {"provisoire"}
    for row in shares:
        assert row["gap"] == row["counted"] - row["target"]
    # The carries of a scope sum to zero: the landlord part takes the opposite of the shares'.
    per_landlord: defaultdict = defaultdict(Decimal)
    for row in shares:
        per_landlord[row["landlord"]] += row["carry_out"]
    assert set(per_landlord.values()) == {Decimal(0)}


def test_checks_cover_each_landlord_with_the_etat_per_commune_and_quartiles_per_epci(
    everything,
):
    checks = _rows(everything, "checks")
    codes = Counter((row["landlord"], row["code"]) for row in checks)
    names = {row["landlord"] for row in checks}

    assert len(names) == len(LANDLORDS)
    for landlord in names:
        assert codes[landlord, "etat_cap_30"] == 1
        assert codes[landlord, "etat_agents_cap_5"] == 1
        assert codes[landlord, "etat_hors_qpv_of_etat"] == 1
        assert codes[landlord, "etat_hors_qpv_of_flux"] == 1
        assert codes[landlord, "etat_uniform_by_commune"] > 2  # the summary and its communes
        assert codes[landlord, "first_quartile_hors_qpv_25"] >= 1
    assert {row["status"] for row in checks} <= {
        "passed",
        "within_tolerance",
        "failed",
        "not_applicable",
        "information",
    }
    assert all(row["reason"] for row in checks)
    communes = [r for r in checks if r["code"] == "etat_uniform_by_commune" and r["target"]]
    assert all(r["scope"] == "bailleur" or r["scope"].startswith("commune ") for r in communes)


def test_r441_5_1_with_the_setting_off_a_reserver_sees_only_its_own_rows(loaded, session):
    """R.441-5-1, BILAN_EVERY_RESERVER off: a reserver's bilan is its own rows."""
    ids = _ids(session)
    reserver = Actor(None, Role.RESERVER, ids["action-logement"])
    loaded.config["BILAN_EVERY_RESERVER"] = False
    try:
        report = reports.annual(
            session, reserver, reports.ReportQuery(YEAR), today=date(2026, 3, 1)
        )
    finally:
        loaded.config["BILAN_EVERY_RESERVER"] = True

    shares = _rows(report, "shares")
    assert {row["reserver"] for row in shares} == {"Action Logement Services"}
    assert len(shares) == len(LANDLORDS)  # one share with each landlord
    assert {row["reserver"] for row in _rows(report, "breakdown")} == {"Action Logement Services"}
    checks = _rows(report, "checks")
    assert {(row["code"], row["scope"]) for row in checks} == {
        ("action_logement_dalo_25", "Action Logement Services"),
        ("dalo_prioritaires_25", "Action Logement Services"),
    }
    assert len(_rows(report, "deductions")) == 5 * len(LANDLORDS)
    assert report.meta.reserver == "Action Logement Services"


def test_r441_5_1_by_default_a_reserver_sees_every_reservers_rows_of_its_landlords(
    session, everything
):
    """R.441-5-1 (« à l'ensemble des réservataires un bilan [...] par réservataire »): by
    default Action Logement's bilan has, for each of its landlords, every reserver's rows as
    the landlord's bilan has them, and none of the landlords' own part."""
    ids = _ids(session)
    reserver = Actor(None, Role.RESERVER, ids["action-logement"])
    report = reports.annual(session, reserver, reports.ReportQuery(YEAR), today=date(2026, 3, 1))

    shares = _rows(report, "shares")
    landlord_part = "Bailleur (part non réservée)"
    expected = [r for r in _rows(everything, "shares") if r["reserver_id"] is not None]
    assert shares == expected
    assert len({row["reserver"] for row in shares}) > 1
    assert landlord_part not in {row["reserver"] for row in _rows(report, "breakdown")}
    owners = {row["scope"] for row in _rows(report, "checks")}
    assert "Bailleur (non réservé ou repris)" not in owners
    assert "Action Logement Services" in owners
    assert report.meta.reserver == "Action Logement Services"


def test_the_prefecture_consolidates_its_departement_per_landlord_and_share(session):
    ids = _ids(session)
    prefecture = Actor(None, Role.PREFECTURE, ids["etat-31"], departement="31")
    report = reports.annual(session, prefecture, reports.ReportQuery(YEAR), today=date(2026, 3, 1))
    everything = reports.annual(session, SYSTEM, reports.ReportQuery(YEAR), today=date(2026, 3, 1))

    assert report.meta.departement == "Haute-Garonne (31)"
    assert report.meta.landlord is None
    for key in ("shares", "breakdown", "deductions", "checks"):
        assert report.part(key).frame.equals(everything.part(key).frame), key
    pairs = Counter(
        (row["landlord"], row["convention"], row["share"]) for row in _rows(report, "shares")
    )
    assert set(pairs.values()) == {1}


def test_the_percentage_shown_is_the_one_in_force_at_the_years_end(session):
    """Action Logement's convention with the OPH goes from 25 % to 28 % on 2026-07-01."""
    report = reports.annual(
        session, SYSTEM, reports.ReportQuery(2026, landlord="oph-demo-garonne"), date(2026, 3, 1)
    )
    before = reports.annual(
        session, SYSTEM, reports.ReportQuery(YEAR, landlord="oph-demo-garonne"), date(2026, 3, 1)
    )

    def al(r):
        return next(row for row in _rows(r, "shares") if row["convention"] == "31-OPHG-AL")

    assert al(report)["percent"] == Decimal("0.28")
    assert al(before)["percent"] == Decimal("0.25")
    # The amended share's percentage periods (issue 13): 25 % to 30 June, 28 % from 1 July.
    periods = [
        (row["valid_from"], row["valid_until"], row["percent"])
        for row in _rows(report, "share_periods")
        if row["convention"] == "31-OPHG-AL"
    ]
    assert periods == [
        (date(2026, 1, 1), date(2026, 6, 30), Decimal("0.25")),
        (date(2026, 7, 1), date(2026, 12, 31), Decimal("0.28")),
    ]
    assert al(report)["share_id"] == next(
        row["share_id"]
        for row in _rows(report, "share_periods")
        if row["convention"] == "31-OPHG-AL"
    )


def test_each_vacancys_holder_is_the_one_the_allocation_fold_gives(session):
    """The checks read each vacancy's holder from the report's own pass over the journal; the
    engine's fold of the same entries must agree (take-backs, overrides and withdrawals)."""
    from flux.reporting import facts
    from flux.services.allocation_book import Scope

    for code in LANDLORDS:
        scope = Scope(_ids(session)[code], "31")
        book = allocation_book.frozen(
            session, scope, YEAR, allocation_book.closed_through(session, scope, YEAR)
        )
        scope_year = facts.load(session, scope, YEAR)

        expected = {vid: entry.holder for vid, entry in book.vacancies.items()}
        assert {vid: v.holder for vid, v in scope_year.vacancies.items()} == expected
        assert scope_year.balances == allocation.balances(book.state)


def test_the_demo_closes_2025_and_issues_every_bilan_as_the_scheduler_would(session):
    import hashlib

    from flux.models import IssuedReport
    from flux.services import bilan_campaign

    issued = session.scalars(sa.select(IssuedReport).where(IssuedReport.year == YEAR)).all()
    pairs = bilan_campaign.pairs(session, YEAR)
    assert len(pairs) > 10
    assert sorted((r.landlord_id, r.departement_code, r.reserver_id) for r in issued) == [
        (p.landlord_id, p.departement, p.reserver_id) for p in pairs
    ]
    assert all(hashlib.sha256(r.content).hexdigest() == r.content_hash for r in issued)
    assert all(r.issued_at is not None and r.content.startswith(b"%PDF") for r in issued)


def test_the_summary_by_dimension_adds_up_to_the_breakdown(everything):
    breakdown = Counter()
    for row in _rows(everything, "breakdown"):
        breakdown[row["reserver"], "proposed"] += row["proposed"]
        breakdown[row["reserver"], "attributed"] += row["attributed"]
    per_dimension: dict[str, Counter] = defaultdict(Counter)
    for row in _rows(everything, "breakdown_summary"):
        per_dimension[row["dimension"]][row["reserver"], "proposed"] += row["proposed"]
        per_dimension[row["dimension"]][row["reserver"], "attributed"] += row["attributed"]
    assert set(per_dimension) == {
        "Typologie",
        "Financement",
        "QPV",
        "Commune",
        "Période de construction",
    }
    for counts in per_dimension.values():
        assert counts == breakdown


# --- no false alarms (issue 13) ---------------------------------------------------------------


def test_only_entries_that_change_the_closed_year_are_late_on_the_demo(session, everything):
    """The demo's January follow-ups of December vacancies (designations, CALEOL decisions,
    leases) change none of 2025's figures: not late. Each late entry listed is the cause of a
    carry adjustment."""
    closes = {
        (e.landlord_id, e.departement_code): e.payload["through_id"]
        for e in session.scalars(
            sa.select(JournalEntry).where(
                JournalEntry.kind == "year_closed", JournalEntry.period == YEAR
            )
        )
    }
    after_close = [
        e
        for e in session.scalars(sa.select(JournalEntry).where(JournalEntry.period == YEAR))
        if e.kind != "year_closed" and e.id > closes[e.landlord_id, e.departement_code]
    ]
    assert len(after_close) > 20, "the demo records January follow-ups of December vacancies"
    causes = {
        e.payload["cause_id"]
        for e in session.scalars(sa.select(JournalEntry).where(JournalEntry.kind == "carry_over"))
        if e.payload.get("late") and e.payload.get("from_year") == YEAR
    }
    listed = [r for r in _rows(everything, "late_entries") if r["kind"] != "ajustement du report"]
    assert {r["entry"] for r in listed} == causes
    assert len(listed) < len(after_close)


def test_no_demo_forecast_is_late(session):
    from flux.models import DeductionForecast
    from flux.services import deduction_forecasts

    forecasts = session.scalars(sa.select(DeductionForecast)).all()
    assert {f.year for f in forecasts} == {2025, 2026}
    assert not [f for f in forecasts if deduction_forecasts.is_late(f)]


def test_next_years_bilans_are_not_missing_before_their_deadline(session):
    from flux.services import bilan_campaign

    december = bilan_campaign.status(session, SYSTEM, 2026, today=date(2026, 12, 15))
    assert december and {row["status"] for row in december} == {"pending"}
    after = bilan_campaign.status(session, SYSTEM, 2026, today=date(2027, 3, 1))
    assert {row["status"] for row in after} == {"missing"}
    issued = bilan_campaign.status(session, SYSTEM, YEAR, today=date(2026, 3, 1))
    assert {row["status"] for row in issued} == {"issued"}


# --- the PDF as a document (issue 13) -------------------------------------------------------


def test_the_prefectures_pdf_opens_on_a_synthesis_naming_the_breached_obligations(session):
    import io

    from pypdf import PdfReader

    from flux.reporting import render

    etat = _ids(session)["etat-31"]
    prefecture = Actor(None, Role.PREFECTURE, etat, departement="31", can_write=False)
    report = reports.annual(
        session, prefecture, reports.ReportQuery(YEAR, departement="31"), date(2026, 3, 1)
    )
    pages = [
        " ".join(page.extract_text().split())
        for page in PdfReader(io.BytesIO(render.render(report, "pdf").content)).pages
    ]
    text = " ".join(pages)
    synthesis_pages = next(i for i, page in enumerate(pages) if "Annexe 1 — " in page)
    synthesis = " ".join(pages[:synthesis_pages])
    assert pages[0].index("Synthèse") < pages[0].index("Flux de l'année")
    assert synthesis_pages <= 4 and len(pages) < 40
    flux = next(r["value"] for r in _rows(report, "key_figures") if r["figure"] == "flux")
    assert flux == report.part("shares").frame.iloc[-1]["realised"]
    breached = [r for r in _rows(report, "checks") if r["status"] == "failed"]
    assert breached, "the demo breaches some obligations"
    for row in breached:
        label = row["check"].rsplit(" (", 1)[0]  # the article follows, after "— article"
        assert label in synthesis, label
        assert row["scope"] in synthesis
    # French labels only: no code of the checks, no status code.
    for code in {r["code"] for r in _rows(report, "checks")} | {"passed", "failed"}:
        assert code not in text, code
