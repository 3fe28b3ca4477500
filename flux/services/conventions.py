"""Conventions de réservation: creation, amendments, reading; the caps are checked in the domain."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from flux.db import begin_immediate
from flux.domain import conventions as rules
from flux.domain.conventions import ConventionTerms, ReserverCategory, RuleWarning, SharePurpose
from flux.domain.eligibility import (
    VacancyFacts,
    eligible_shares,
    reweighting,
    sub_reweighting,
    tijdeman_refusal,
)
from flux.domain.reference import Letting, OrganisationKind, PerimeterKind
from flux.models import (
    AllocationScope,
    Commune,
    Convention,
    ConventionVersion,
    JournalEntry,
    Organisation,
    Share,
    ShareTerms,
    VersionCommune,
)
from flux.services import (
    alerts,
    allocation_book,
    derogations,
    journal,
    organisations,
    scope_conventions,
    territories,
    year_close,
)
from flux.services.access import Actor, check_convention_write, visible_conventions
from flux.services.allocation_book import Scope
from flux.services.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from flux.services.journal import Kind

POLICY_FIELDS = (
    "designation_deadline_days",
    "candidates_per_designation",
    "carence_counts",
    "cal_refusal_delay_days",
    "cal_refusal_counts",
    "counting_event",
    "carry_over",
    "first_lettings_counted",
    "etat_uniform_by_commune",
    "etat_hors_qpv_minimum",
    "spread_by_typology",
    "spread_by_qpv",
)


@dataclass(frozen=True)
class SavedConvention:
    convention: Convention
    warnings: list[RuleWarning]


def query_visible(actor: Actor) -> sa.Select[tuple[Convention]]:
    return (
        sa.select(Convention)
        .where(visible_conventions(actor))
        .options(selectinload(Convention.versions).selectinload(ConventionVersion.share_terms))
        .order_by(Convention.id)
    )


def get_writable(session: Session, actor: Actor, convention_id: int) -> Convention:
    """A convention the caller may write (404 if it may not see it, 403 if only read it)."""
    convention = get(session, actor, convention_id)
    check_convention_write(
        actor, convention.landlord_id, convention.reserver, convention.departement_code
    )
    return convention


def get(session: Session, actor: Actor, convention_id: int) -> Convention:
    convention = session.scalar(query_visible(actor).where(Convention.id == convention_id))
    if convention is None:
        raise NotFound(f"Convention {convention_id} introuvable.")
    return convention


def version_on(convention: Convention, on: date) -> ConventionVersion:
    """The version in force on a date (the first one before the convention starts)."""
    current = convention.versions[0]
    for version in convention.versions:
        if version.effective_from <= on:
            current = version
    return current


# --- creation ----------------------------------------------------------------------------


def create(session: Session, actor: Actor, data: Mapping[str, Any]) -> SavedConvention:
    """Create a convention (with its history of amendments, if given); the caller commits."""
    landlord = _organisation(session, data["landlord"], "landlord", OrganisationKind.LANDLORD)
    reserver = _organisation(session, data["reserver"], "reserver", OrganisationKind.RESERVER)
    check_convention_write(actor, landlord.id, reserver, data["departement"])
    if data.get("imposed_by_arrete") and reserver.category is not ReserverCategory.ETAT:
        raise InvalidInput(
            "Seules les conventions de l'État peuvent être fixées par arrêté du préfet "
            "(article R.441-5-2 IV du CCH).",
            errors={"json": {"imposed_by_arrete": ["Réservé aux conventions de l'État."]}},
        )
    _lock_landlord(session, landlord.id)
    scope = Scope(landlord.id, data["departement"])
    rule = lock_scope(session, scope)
    if session.scalar(sa.select(Convention.id).where(Convention.reference == data["reference"])):
        raise Conflict(
            f"La référence « {data['reference']} » est déjà utilisée.",
            errors={"json": {"reference": ["Référence déjà utilisée."]}},
        )
    drafts = _drafts(data)
    convention = Convention(
        reference=data["reference"],
        landlord_id=landlord.id,
        reserver_id=reserver.id,
        departement_code=data["departement"],
        label=data.get("label"),
        imposed_by_arrete=data.get("imposed_by_arrete"),
        imposed_on=data.get("imposed_on"),
    )
    candidate = _terms(session, convention, reserver, drafts)
    warnings = rules.check_convention(
        candidate,
        _others(session, landlord.id, None),
        communes_departement=_departements_of(session, candidate),
        departement_communes=_communes_of(session, data["departement"]),
        derogations=derogations.in_force(session, landlord.id, data["departement"]),
    )
    before = scope_conventions.load_uncached(session, scope.landlord_id, scope.departement)
    session.add(convention)
    session.flush()
    for number, draft in enumerate(drafts, start=1):
        _save_version(session, convention, number, draft, actor)
    session.flush()
    _keep_scope_rule_valid(session, convention)
    _record_terms(session, actor, scope, rule, convention, len(drafts), data["valid_from"], before)
    _keep_warnings(session, convention, warnings)
    return SavedConvention(convention, warnings)


def amend(
    session: Session, actor: Actor, convention_id: int, data: Mapping[str, Any], revision: int
) -> SavedConvention:
    """Add an amendment (a new version from a date); `revision` is the one the caller read."""
    convention = get_writable(session, actor, convention_id)
    _lock_landlord(session, convention.landlord_id)
    scope = Scope(convention.landlord_id, convention.departement_code)
    rule = lock_scope(session, scope)
    session.refresh(convention)  # re-read under the locks (SQLite may have begun anew)
    if convention.revision != revision:
        raise PreconditionFailed("La convention a été modifiée depuis votre lecture.")
    previous = _draft_of(convention.versions[-1])
    _check_ended_shares(previous, data)
    draft = {
        **previous,
        **{k: v for k, v in data.items() if k != "policies"},
        "policies": {**previous["policies"], **data.get("policies", {})},
    }
    draft.pop("ends_shares", None)
    _check_purposes(convention, draft)
    drafts = [_draft_of(v) for v in convention.versions] + [draft]
    candidate = _terms(session, convention, convention.reserver, drafts)
    warnings = rules.check_convention(
        candidate,
        _others(session, convention.landlord_id, convention.id),
        communes_departement=_departements_of(session, candidate),
        departement_communes=_communes_of(session, convention.departement_code),
        derogations=derogations.in_force(
            session, convention.landlord_id, convention.departement_code
        ),
    )
    before = scope_conventions.load_uncached(session, scope.landlord_id, scope.departement)
    _save_version(session, convention, len(drafts), draft, actor)
    _keep_scope_rule_valid(session, convention)
    _record_terms(
        session, actor, scope, rule, convention, len(drafts), draft["effective_from"], before
    )
    _bump(session, convention, revision)
    _keep_warnings(session, convention, warnings)
    return SavedConvention(convention, warnings)


def terminate(
    session: Session, actor: Actor, convention_id: int, data: Mapping[str, Any], revision: int
) -> SavedConvention:
    """Résiliation: the convention's last day in force, with its reference and, for the État
    (R.441-5-2 IV), the mise en demeure at least two months before. Recorded as a last version
    in force on that day only, so that every rule (caps, late terms) applies unchanged."""
    convention = get_writable(session, actor, convention_id)
    if convention.terminated_on is not None:
        raise Conflict(
            f"La convention {convention.reference} est déjà résiliée "
            f"(le {convention.terminated_on:%d/%m/%Y}).",
            extra={"rule": "already_terminated"},
        )
    last_day: date = data["terminated_on"]
    notice: date | None = data.get("formal_notice_on")
    if convention.reserver.category is ReserverCategory.ETAT and notice is None:
        raise InvalidInput(
            "La résiliation d'une convention de l'État suit une mise en demeure restée deux "
            "mois sans effet (article R.441-5-2 IV du CCH) : indiquez sa date.",
            errors={"json": {"formal_notice_on": ["Date de la mise en demeure requise."]}},
        )
    if notice is not None and _months_after(notice, 2) > last_day:
        raise InvalidInput(
            f"La résiliation prend effet au plus tôt deux mois après la mise en demeure du "
            f"{notice:%d/%m/%Y}, soit le {_months_after(notice, 2):%d/%m/%Y}.",
            errors={"json": {"terminated_on": ["Moins de deux mois après la mise en demeure."]}},
        )
    previous = _draft_of(convention.versions[-1])
    saved = amend(
        session,
        actor,
        convention_id,
        {
            "effective_from": last_day,
            "valid_until": last_day,
            "shares": previous["shares"],
            "note": f"Résiliation : {data['reference']}",
        },
        revision,
    )
    convention = saved.convention
    convention.terminated_on = last_day
    convention.termination_reference = data["reference"]
    convention.formal_notice_on = notice
    session.flush()
    return saved


def _months_after(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def update_label(
    session: Session, actor: Actor, convention_id: int, data: Mapping[str, Any], revision: int
) -> Convention:
    """Change what identifies a convention to its readers (its label), not its terms."""
    convention = get_writable(session, actor, convention_id)
    convention.label = data.get("label", convention.label)
    _bump(session, convention, revision)
    return convention


def _bump(session: Session, convention: Convention, revision: int) -> None:
    # Compare-and-set: if another writer bumped the revision since we read it, we lose.
    result = session.execute(
        sa.update(Convention)
        .where(Convention.id == convention.id, Convention.revision == revision)
        .values(revision=revision + 1)
    )
    if result.rowcount != 1:
        raise PreconditionFailed("La convention a été modifiée depuis votre lecture.")
    session.flush()
    session.refresh(convention)


def _lock_landlord(session: Session, landlord_id: int) -> None:
    """Serialise convention writes of one landlord: the caps span all its conventions."""
    begin_immediate(session)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            sa.select(Organisation.id)
            .where(Organisation.id == landlord_id)
            .with_for_update(key_share=True)
        )


def _organisation(
    session: Session, ref: int | str, field: str, kind: OrganisationKind
) -> Organisation:
    org = organisations.get_by_ref(session, ref, field)
    if org.kind is not kind:
        label = "un bailleur" if kind is OrganisationKind.LANDLORD else "un réservataire"
        raise InvalidInput(
            f"« {org.code} » n'est pas {label}.", errors={"json": {field: [f"Doit être {label}."]}}
        )
    return org


# --- drafts: the API's description of one version -----------------------------------------


def _drafts(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    first = {
        "effective_from": data["valid_from"],
        "valid_from": data["valid_from"],
        "valid_until": data.get("valid_until"),
        "perimeter": data["perimeter"],
        "policies": data.get("policies", {}),
        "shares": data["shares"],
        "note": data.get("note"),
    }
    drafts = [first]
    for amendment in sorted(data.get("amendments", []), key=lambda a: a["effective_from"]):
        previous = drafts[-1]
        _check_ended_shares(previous, amendment)
        drafts.append(
            {
                **previous,
                "note": None,
                **{k: v for k, v in amendment.items() if k not in ("policies", "ends_shares")},
                "policies": {**previous["policies"], **amendment.get("policies", {})},
                "valid_from": first["valid_from"],
            }
        )
    return drafts


def _draft_of(version: ConventionVersion) -> dict[str, Any]:
    return {
        "effective_from": version.effective_from,
        "valid_from": version.valid_from,
        "valid_until": version.valid_until,
        "perimeter": {
            "kind": version.perimeter_kind,
            "code": version.perimeter_code,
            "communes": [c.commune_insee for c in version.communes],
        },
        "policies": {name: getattr(version, name) for name in POLICY_FIELDS},
        "shares": [
            {
                "code": t.share.code,
                "label": t.label,
                "percent": t.basis_points,
                "purpose": t.share.purpose,
                "guarantee_backed": t.guarantee_backed,
                "ends_on": t.ends_on,
                "loan_repaid_on": t.loan_repaid_on,
            }
            for t in version.share_terms
        ],
        "note": version.note,
    }


def _terms(
    session: Session,
    convention: Convention,
    reserver: Organisation,
    drafts: Sequence[Mapping[str, Any]],
) -> list[ConventionTerms]:
    territory = territories.reserver_territory(session, reserver.category, reserver.territory_code)
    result = []
    for index, draft in enumerate(drafts):
        following = drafts[index + 1]["effective_from"] if index + 1 < len(drafts) else None
        result.append(
            ConventionTerms(
                reference=convention.reference,
                landlord_id=convention.landlord_id,
                reserver_id=convention.reserver_id or reserver.id,
                reserver_category=ReserverCategory(reserver.category),
                reserver_territory=territory,
                departement=convention.departement_code,
                communes=_perimeter(session, draft["perimeter"], convention.departement_code),
                valid_from=draft["valid_from"],
                valid_until=draft["valid_until"],
                effective_from=draft["effective_from"],
                effective_until=following,
                shares=tuple(
                    rules.ShareTerms(
                        code=s["code"],
                        label=s["label"],
                        basis_points=s["percent"],
                        purpose=SharePurpose(s["purpose"]),
                        guarantee_backed=s.get("guarantee_backed", False),
                        ends_on=_share_end(s),
                        loan_repaid_on=s.get("loan_repaid_on"),
                    )
                    for s in draft["shares"]
                ),
            )
        )
    return result


def _share_end(share: Mapping[str, Any]) -> date | None:
    """The share's last day: given, or derived from the guaranteed loan (R.441-6, +5 years)."""
    if share.get("ends_on") is None and share.get("loan_repaid_on") is not None:
        return rules.guarantee_end(share["loan_repaid_on"])
    return share.get("ends_on")


def _perimeter(session: Session, perimeter: Mapping[str, Any], departement: str) -> frozenset[str]:
    kind = PerimeterKind(perimeter["kind"])
    code = perimeter.get("code") or (departement if kind is PerimeterKind.DEPARTEMENT else None)
    if kind is PerimeterKind.EPCI and not code:
        raise InvalidInput(
            "Périmètre EPCI sans SIREN.",
            errors={"json": {"perimeter": {"code": ["SIREN de l'EPCI requis."]}}},
        )
    communes = territories.perimeter_communes(session, kind, code, perimeter.get("communes", ()))
    unknown = sorted(
        set(communes)
        - set(session.scalars(sa.select(Commune.insee).where(Commune.insee.in_(communes))))
    )
    if not communes or unknown:
        detail = f"communes inconnues : {', '.join(unknown)}" if unknown else "aucune commune"
        raise InvalidInput(
            f"Périmètre invalide ({detail}).",
            errors={"json": {"perimeter": [f"Périmètre invalide : {detail}."]}},
        )
    return communes


def _communes_of(session: Session, departement: str) -> frozenset[str]:
    return frozenset(
        session.scalars(sa.select(Commune.insee).where(Commune.departement_code == departement))
    )


def _keep_warnings(session: Session, convention: Convention, warnings: list[RuleWarning]) -> None:
    """A warning is kept as an alert (the prefecture lists it after the response is gone)."""
    alerts.raise_all(
        session,
        [
            alerts.Draft(
                key=f"{w.rule}:{convention.id}:r{convention.revision}",
                kind=w.rule,
                message=f"Convention {convention.reference} : {w.message}",
                landlord_id=convention.landlord_id,
                reserver_id=convention.reserver_id,
                departement=convention.departement_code,
                convention_id=convention.id,
                figures=dict(w.figures),
            )
            for w in warnings
        ],
        None,
    )


def _departements_of(session: Session, versions: Sequence[ConventionTerms]) -> dict[str, str]:
    codes = set().union(*(v.communes for v in versions))
    rows = session.execute(
        sa.select(Commune.insee, Commune.departement_code).where(Commune.insee.in_(codes))
    )
    return {insee: departement for insee, departement in rows}


def _others(session: Session, landlord_id: int, exclude_id: int | None) -> list[ConventionTerms]:
    stmt = (
        sa.select(Convention)
        .where(Convention.landlord_id == landlord_id)
        .options(selectinload(Convention.versions))
    )
    if exclude_id is not None:
        stmt = stmt.where(Convention.id != exclude_id)
    return [
        term
        for other in session.scalars(stmt)
        for term in _terms(session, other, other.reserver, [_draft_of(v) for v in other.versions])
    ]


def _save_version(
    session: Session, convention: Convention, number: int, draft: Mapping[str, Any], actor: Actor
) -> ConventionVersion:
    perimeter = draft["perimeter"]
    kind = PerimeterKind(perimeter["kind"])
    code = perimeter.get("code") or (
        convention.departement_code if kind is PerimeterKind.DEPARTEMENT else None
    )
    version = ConventionVersion(
        convention_id=convention.id,
        number=number,
        effective_from=draft["effective_from"],
        valid_from=draft["valid_from"],
        valid_until=draft["valid_until"],
        note=draft.get("note"),
        perimeter_kind=kind,
        perimeter_code=code if kind is not PerimeterKind.COMMUNES else None,
        created_by_user_id=actor.user_id,
        **draft["policies"],
    )
    session.add(version)
    session.flush()
    if kind is PerimeterKind.COMMUNES:
        session.add_all(
            VersionCommune(version_id=version.id, commune_insee=insee)
            for insee in sorted(set(perimeter["communes"]))
        )
    for share_data in draft["shares"]:
        share = _share(session, convention, share_data)
        session.add(
            ShareTerms(
                version_id=version.id,
                share_id=share.id,
                label=share_data["label"],
                basis_points=share_data["percent"],
                guarantee_backed=share_data.get("guarantee_backed", False),
                ends_on=_share_end(share_data),
                loan_repaid_on=share_data.get("loan_repaid_on"),
            )
        )
    session.flush()
    session.expire(convention, ["versions", "shares"])
    return version


def _keep_scope_rule_valid(session: Session, convention: Convention) -> None:
    """A scope on Tijdeman's rule accepts only terms that keep its bound possible."""
    rule = session.scalar(
        sa.select(AllocationScope.rule).where(
            AllocationScope.landlord_id == convention.landlord_id,
            AllocationScope.departement_code == convention.departement_code,
        )
    )
    if rule != "tijdeman_deadline":
        return
    # Uncached: these terms are not committed yet.
    views = scope_conventions.load_uncached(
        session, convention.landlord_id, convention.departement_code
    ).views
    communes = frozenset(
        session.scalars(
            sa.select(Commune.insee).where(Commune.departement_code == convention.departement_code)
        )
    )
    reason = tijdeman_refusal(views, communes)
    if reason:
        raise Conflict(
            f"Le périmètre de ce bailleur suit la règle de Tijdeman, que ces termes rendraient "
            f"inapplicable : {reason} Repassez d'abord le périmètre à la règle du plus grand "
            "retard (PUT /api/v1/allocation-scopes/…).",
            extra={"rule": "tijdeman_scope"},
        )


def lock_scope(session: Session, scope: Scope) -> allocation_book.Rule:
    """Take the lock of the scope's decisions (issue 15): terms never change while a vacancy of
    the scope is being decided, so each decision is made under the terms committed before it."""
    return allocation_book.lock(session, scope)


def _latest_vacancy(session: Session, scope: Scope) -> date | None:
    return session.scalar(
        sa.select(sa.func.max(JournalEntry.effective_date)).where(
            JournalEntry.kind == Kind.VACANCY_LOGGED,
            JournalEntry.landlord_id == scope.landlord_id,
            JournalEntry.departement_code == scope.departement,
        )
    )


def _record_terms(
    session: Session,
    actor: Actor,
    scope: Scope,
    rule: allocation_book.Rule,
    convention: Convention,
    version: int,
    start: date,
    before: scope_conventions.ScopeConventions,
) -> None:
    """Journal the new terms; when they reach back over vacancies already logged (a late
    amendment, keyed after its effective date), re-target those vacancies.

    Decisions already taken stay as they were (their eligible set is in the journal); each
    oriented vacancy dated on or after ``start`` gets a ``target_adjustment`` entry with the
    change of its weights (``units``) and of its shares' sub-targets (``sub_units``: the État's
    per commune, any spread by typology or QPV), so targets are those of the new terms from
    ``start`` on, overall and in each commune, and the next decisions make up the difference.
    """
    latest = _latest_vacancy(session, scope)
    late = latest is not None and start <= latest
    adjusted = 0
    if late:
        # A closed year's figures are final: terms may not reach back into it.
        year_close.check_open(session, scope, start)
        after = scope_conventions.load_uncached(session, scope.landlord_id, scope.departement)
        adjusted = _retarget(session, actor, scope, rule, start, before, after)
    journal.append(
        session,
        actor,
        Kind.TERMS_CHANGED,
        start,
        landlord_id=scope.landlord_id,
        departement_code=scope.departement,
        convention_id=convention.id,
        period=start.year,
        payload={
            "reference": convention.reference,
            "version": version,
            "effective_from": start.isoformat(),
            "late": late,
            "latest_vacancy": None if latest is None else latest.isoformat(),
            "vacancies_retargeted": adjusted,
        },
    )


def _retarget(
    session: Session,
    actor: Actor,
    scope: Scope,
    rule: allocation_book.Rule,
    start: date,
    before: scope_conventions.ScopeConventions,
    after: scope_conventions.ScopeConventions,
) -> int:
    logged = session.execute(
        sa.select(JournalEntry.id, JournalEntry.effective_date, JournalEntry.payload)
        .where(
            JournalEntry.kind == Kind.VACANCY_LOGGED,
            JournalEntry.landlord_id == scope.landlord_id,
            JournalEntry.departement_code == scope.departement,
            JournalEntry.effective_date >= start,
        )
        .order_by(JournalEntry.id)
    ).all()
    books: dict[int, allocation_book.Book] = {}
    count = 0
    for vacancy_id, day, payload in logged:
        if payload.get("deduction"):
            continue
        if day.year not in books:
            books[day.year] = allocation_book.load(session, scope, day.year, rule)
        held = books[day.year].vacancies.get(vacancy_id)
        if held is None or held.holder is None:
            continue  # withdrawn: it left the base with its weights
        facts = VacancyFacts(
            day,
            payload["commune"],
            payload["typology"],
            payload.get("qpv") is not None,
            payload.get("letting") == Letting.FIRST_LETTING,
        )
        old, new = eligible_shares(before.views, facts), eligible_shares(after.views, facts)
        deltas, sub_deltas = reweighting(old, new), sub_reweighting(old, new)
        if not deltas and not sub_deltas:
            continue
        count += 1
        payload: dict[str, Any] = {
            "units": {str(share): units for share, units in deltas.items()},
            "cause": "late_amendment",
            "effective_from": start.isoformat(),
        }
        if sub_deltas:  # the État's per-commune sub-targets (and any spread) move too
            payload["sub_units"] = [[s, key, units] for (s, key), units in sub_deltas.items()]
        journal.append(
            session,
            actor,
            Kind.TARGET_ADJUSTMENT,
            day,
            landlord_id=scope.landlord_id,
            departement_code=scope.departement,
            vacancy_id=vacancy_id,
            period=day.year,
            payload=payload,
        )
    return count


def _check_ended_shares(previous: Mapping[str, Any], data: Mapping[str, Any]) -> None:
    """An amendment lists every share in force from its date: one it omits ends then, but only
    when the request says so (``ends_shares``); a share omitted by mistake would end silently."""
    listed = {share["code"] for share in data["shares"]}
    ending = set(data.get("ends_shares", ()))
    omitted = sorted({share["code"] for share in previous["shares"]} - listed - ending)
    if omitted:
        names = ", ".join(f"« {code} »" for code in omitted)
        raise InvalidInput(
            f"L'avenant omet la part {names} sans dire qu'elle prend fin : reprenez-la dans "
            "`shares`, ou nommez-la dans `ends_shares` pour y mettre fin à la date d'effet.",
            errors={"json": {"shares": [f"Part omise sans fin explicite : {', '.join(omitted)}."]}},
            extra={"rule": "share_omitted", "shares": omitted},
        )
    contradictory = sorted(ending & listed)
    if contradictory:
        raise InvalidInput(
            f"La part « {contradictory[0]} » est à la fois reprise et déclarée finie.",
            errors={"json": {"ends_shares": [f"Part reprise : {', '.join(contradictory)}."]}},
        )
    unknown = sorted(ending - {share["code"] for share in previous["shares"]})
    if unknown:
        raise InvalidInput(
            f"La part « {unknown[0]} » n'est pas en vigueur avant l'avenant : elle ne peut pas "
            "prendre fin.",
            errors={"json": {"ends_shares": [f"Part inconnue : {', '.join(unknown)}."]}},
        )


def _check_purposes(convention: Convention, draft: Mapping[str, Any]) -> None:
    """A share keeps its purpose for life: an amendment changes percentages, not what for."""
    purposes = {share.code: share.purpose for share in convention.shares}
    for share in draft["shares"]:
        if share["code"] in purposes and purposes[share["code"]] != share["purpose"]:
            raise InvalidInput(
                f"La part « {share['code']} » ne peut pas changer d'objet.",
                errors={"json": {"shares": ["Objet de part incohérent."]}},
            )


def _share(session: Session, convention: Convention, data: Mapping[str, Any]) -> Share:
    share = session.scalar(
        sa.select(Share).where(Share.convention_id == convention.id, Share.code == data["code"])
    )
    if share is None:
        share = Share(
            convention_id=convention.id, code=data["code"], purpose=SharePurpose(data["purpose"])
        )
        session.add(share)
        session.flush()
    elif share.purpose != data["purpose"]:
        raise InvalidInput(
            f"La part « {data['code']} » ne peut pas changer d'objet.",
            errors={"json": {"shares": ["Objet de part incohérent."]}},
        )
    return share
