"""Events of a vacancy after its orientation: designation, CAL decisions, take-backs, lease,
withdrawal, override and correction (domain.md §5)."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flux import clock
from flux.domain import allocation, lifecycle
from flux.domain.allocation import LANDLORD
from flux.domain.lifecycle import Event
from flux.domain.reference import Role
from flux.models import Convention, JournalEntry, Share
from flux.services import allocation_book, journal, scope_conventions, vacancies, year_close
from flux.services.access import Actor, require_writer
from flux.services.allocation_book import Scope, share_ref, vacancy_from_payload
from flux.services.errors import Forbidden, InvalidInput, NotFound
from flux.services.journal import Kind


def visible(session: Session, actor: Actor, vacancy_id: int) -> JournalEntry:
    """The vacancy's logging entry if the caller may see it (404 otherwise)."""
    logged = session.scalar(
        sa.select(JournalEntry).where(
            JournalEntry.id == vacancy_id,
            JournalEntry.kind == Kind.VACANCY_LOGGED,
            visible_vacancies(actor),
        )
    )
    if logged is None:
        raise NotFound(f"Libération {vacancy_id} introuvable.")
    return logged


def visible_vacancies(actor: Actor) -> sa.ColumnElement[bool]:
    """Landlord: its own; reserver: those ever oriented to its shares; prefecture: its
    département; admin: all."""
    if actor.is_admin:
        return sa.true()
    if actor.role is Role.LANDLORD:
        return JournalEntry.landlord_id == actor.organisation_id
    if actor.role is Role.PREFECTURE:
        return JournalEntry.departement_code == actor.departement
    if actor.role is Role.RESERVER:
        return JournalEntry.id.in_(journal.vacancies_oriented_to(actor.organisation_id))
    return sa.false()


def record(
    session: Session,
    actor: Actor,
    vacancy_id: int,
    data: dict[str, Any],
    today: date | None = None,
) -> int:
    """Record one event on a vacancy; returns the new entry's id. The caller commits."""
    logged = visible(session, actor, vacancy_id)  # 404 first: one it may not see
    require_writer(actor)
    event = Event(data["type"]) if data["type"] != "correction" else None
    scope = Scope(logged.landlord_id, logged.departement_code)
    allocation_book.lock(session, scope)
    state = vacancies.replay(session, vacancy_id)
    _check_actor(session, actor, state, event)
    on: date = data["date"]
    lifecycle.check_event_date(on, today or clock.today())
    year_close.check_open(session, scope, on)
    if event is None:
        entry = _correct(session, actor, state, data)
    else:
        lifecycle.advance(state.lifecycle, event, on)  # raises TransitionRefused
        entry = _append_event(session, actor, logged, state, event, data)
    if allocation_book.closed_through(session, scope, logged.period) is not None:
        # A late entry: the closed year's figures stay; next year's carry-ins absorb it.
        year_close.adjust_late(session, actor, scope, logged.period, entry)
    return entry.id


def _append_event(
    session: Session,
    actor: Actor,
    logged: JournalEntry,
    state: vacancies.Replayed,
    event: Event,
    data: dict[str, Any],
) -> JournalEntry:
    payload, share_id = _payload(session, state, event, data)
    return journal.append(
        session,
        actor,
        Kind(event.value),
        data["date"],
        payload=payload,
        landlord_id=logged.landlord_id,
        departement_code=logged.departement_code,
        dwelling_id=logged.dwelling_id,
        vacancy_id=logged.id,
        period=logged.period,
        share_id=share_id,
    )


def _check_actor(
    session: Session, actor: Actor, state: vacancies.Replayed, event: Event | None
) -> None:
    if actor.is_admin or (
        actor.role is Role.LANDLORD and actor.organisation_id == state.logged.landlord_id
    ):
        return
    if (
        actor.role is Role.RESERVER
        and event is Event.DESIGNATION
        and state.holder not in (None, LANDLORD)
    ):
        owner = session.scalar(
            sa.select(Convention.reserver_id).join(Share).where(Share.id == state.holder)
        )
        if owner == actor.organisation_id:
            return
    raise Forbidden(
        "Seul le bailleur enregistre cet événement ; un réservataire ne peut désigner des "
        "candidats que sur un logement orienté vers l'une de ses parts."
    )


def _payload(
    session: Session, state: vacancies.Replayed, event: Event, data: dict[str, Any]
) -> tuple[dict[str, Any], int | None]:
    holder = state.holder
    share_id = None if holder in (None, LANDLORD) else int(holder)
    if event is Event.OVERRIDE:
        return _override(session, state, data)
    if event is Event.DESIGNATION:
        required = state.policies.get("candidates_required") or 3
        shortage = (data.get("insufficient_candidates") or "").strip()
        if data["candidates"] < required and not data.get("dalo") and not shortage:
            raise InvalidInput(
                f"La désignation doit proposer au moins {required} candidats (sauf désignation "
                f"DALO ou insuffisance du nombre des candidats, avec son motif : article "
                f"R.441-3 du CCH) : {data['candidates']} proposé(s).",
                errors={"json": {"candidates": [f"Au moins {required} candidats."]}},
            )
        payload = {"candidates": data["candidates"], "dalo": bool(data.get("dalo"))}
        if shortage and data["candidates"] < required:
            # R.441-3: "sauf en cas d'insuffisance du nombre des candidats", with its reason.
            payload["insufficient_candidates"] = shortage
        return payload, share_id
    if event is Event.CAL_ATTRIBUTION:
        household = data["household"]
        flags: dict[str, Any] = {
            key: bool(household[key]) for key in ("dalo", "prioritaire", "first_quartile")
        }
        if household.get("first_quartile_arrete_year") is not None:
            # The ministerial arrêté whose threshold the first-quartile flag applies (L.441-1).
            flags["first_quartile_arrete_year"] = int(household["first_quartile_arrete_year"])
        return {"rank": data["rank"], "household": flags}, share_id
    if event in (Event.CARENCE, Event.TAKE_BACK):
        policy = "carence_counts" if event is Event.CARENCE else "cal_refusal_counts"
        return {"counted": bool(state.policies.get(policy, True)), "from": holder}, share_id
    if event is Event.WITHDRAWAL:
        return {"reason": _reason(data), "from": holder}, share_id
    return {}, share_id


def _override(
    session: Session, state: vacancies.Replayed, data: dict[str, Any]
) -> tuple[dict[str, Any], int | None]:
    target = share_ref(data["share"])
    if target == state.holder:
        raise InvalidInput(
            "Le logement est déjà orienté vers cette part.",
            errors={"json": {"share": ["Part déjà titulaire."]}},
        )
    vacancy = vacancy_from_payload(state.logged.id, state.logged.payload)
    try:
        vacancy.keys_of(target)
    except allocation.NotEligible as error:
        raise InvalidInput(
            f"La part {target} n'est pas éligible pour ce logement.",
            errors={"json": {"share": ["Part non éligible."]}},
        ) from error
    conventions = scope_conventions.load(
        session, state.logged.landlord_id, state.logged.departement_code
    )
    policies = vacancies.policies_for(conventions, target, state.logged.effective_date)
    convention_id = policies.pop("convention_id")
    payload = {
        "from": state.holder,
        "to": target,
        "reason": _reason(data),
        "convention_id": convention_id,
        **policies,
    }
    return payload, None if target == LANDLORD else int(target)


def _reason(data: dict[str, Any]) -> str:
    reason = (data.get("reason") or "").strip()
    if not reason:
        raise InvalidInput(
            "Un motif est obligatoire pour cet événement.",
            errors={"json": {"reason": ["Motif obligatoire."]}},
        )
    return reason


def _correct(
    session: Session, actor: Actor, state: vacancies.Replayed, data: dict[str, Any]
) -> JournalEntry:
    """Reverse the latest correctable event; the vacancy is replayed without it."""
    live = [
        e
        for e in state.entries
        if e.kind in vacancies.EVENT_KINDS and e.id not in state.reversed_ids
    ]
    target_id = data.get("corrects")
    if (
        not live
        or live[-1].id != target_id
        or live[-1].kind not in {Kind(e.value) for e in lifecycle.CORRECTABLE}
    ):
        allowed = (
            live[-1].id
            if live and live[-1].kind in {Kind(e.value) for e in lifecycle.CORRECTABLE}
            else None
        )
        raise InvalidInput(
            "Seul le dernier événement (désignation, décision CALEOL, bail) peut être corrigé ; "
            "une orientation se corrige par une réorientation, une libération par un retrait.",
            errors={"json": {"corrects": [f"Écriture corrigeable : {allowed or 'aucune'}."]}},
        )
    logged = state.logged
    if live[-1].kind == Kind.LEASE and _later_vacancy(session, logged):
        raise InvalidInput(
            "Ce bail ne peut plus être annulé : le logement a depuis été libéré à nouveau "
            "(une seule libération ouverte par logement).",
            errors={"json": {"corrects": ["Le logement a une libération plus récente."]}},
        )
    return journal.append(
        session,
        actor,
        Kind.CORRECTION,
        data["date"],
        payload={"reason": _reason(data), "reversed_kind": live[-1].kind},
        landlord_id=logged.landlord_id,
        departement_code=logged.departement_code,
        dwelling_id=logged.dwelling_id,
        vacancy_id=logged.id,
        period=logged.period,
        reverses_id=target_id,
        share_id=live[-1].share_id,
    )


__all__ = ["record", "visible", "visible_vacancies"]


def _later_vacancy(session: Session, logged: JournalEntry) -> bool:
    return (
        session.scalar(
            sa.select(JournalEntry.id)
            .where(
                JournalEntry.kind == Kind.VACANCY_LOGGED,
                JournalEntry.dwelling_id == logged.dwelling_id,
                JournalEntry.id > logged.id,
            )
            .limit(1)
        )
        is not None
    )
