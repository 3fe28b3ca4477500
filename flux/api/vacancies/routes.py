"""Vacancies: log a freed dwelling, get its orientation with the explanation, follow it."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from flask import current_app, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from flux import clock
from flux.api.auth import current_actor
from flux.api.common import paginated
from flux.api.imports.routes import ImportJobSchema
from flux.db import db
from flux.models import IdempotentRequest, JournalEntry
from flux.services import (
    allocation_book,
    idempotency,
    import_jobs,
    vacancies,
    vacancy_events,
    vacancy_lists,
)
from flux.services.allocation_book import Scope
from flux.services.errors import InvalidInput
from flux.services.vacancies import NewVacancy

from .dump import compile_dump
from .schemas import (
    EventSchema,
    NewVacancySchema,
    VacancyEventSchema,
    VacancyFilterSchema,
    VacancyImportFileSchema,
    VacancyImportQuerySchema,
    VacancySchema,
)

_dump_vacancy = compile_dump(VacancySchema())
# The list writes the fields of the day after each description's JSON: they must be the
# schema's last fields for the answer to be what the schema dumps.
if tuple(VacancySchema().dump_fields)[-len(vacancy_lists.TODAY_FIELDS) :] != (
    vacancy_lists.TODAY_FIELDS
):
    raise RuntimeError(f"VacancySchema must end with {vacancy_lists.TODAY_FIELDS}")

blp = Blueprint(
    "vacancies",
    __name__,
    url_prefix="/vacancies",
    description="Logements libérés, leur orientation expliquée et leur suivi jusqu'au bail",
)

IDEMPOTENCY = {
    "parameters": [
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": False,
            "schema": {"type": "string", "maxLength": 200},
            "description": "Clé choisie par le client : rejouer la requête renvoie la première "
            "réponse (200) sans rien orienter une seconde fois.",
        }
    ]
}


@blp.route("")
class Vacancies(MethodView):
    @blp.arguments(VacancyFilterSchema, location="query")
    @blp.response(200, VacancySchema(many=True))
    @paginated(blp)
    def get(self, filters, pagination_parameters):
        """Listes de travail : libérations visibles par l'appelant, filtrées et triées.

        Filtres : bailleur, département, commune, logement, année, période de disponibilité,
        étape (`stage`, répétable), titulaire (`share`, `convention`, `reserver`,
        `landlord_part`), délai en cours (`deadline_before`, `deadline_after`, `overdue`).
        `to_fill=true` donne la liste « à pourvoir » d'un réservataire : les logements
        orientés vers ses parts qui attendent ses candidats, avec `days_left`. Les codes
        (bailleur, réservataire, référence de convention, « référence/code » de part) valent
        les identifiants. Une page coûte le même petit nombre de requêtes SQL quelle que soit
        sa taille. `compact=true` : sans les lignes d'explication ni les écritures de chaque
        libération (plus léger pour de longues listes).
        """
        page = vacancy_lists.list_vacancies(
            db.session,
            current_actor(),
            vacancy_lists.VacancyFilters(
                **{k: v for k, v in filters.items() if k not in ("stage", "compact")},
                stages=frozenset(filters.get("stage", ())),
            ),
            compact=filters["compact"],
            offset=pagination_parameters.first_item,
            limit=pagination_parameters.page_size,
            today=clock.today(),
            render=_description_json,
        )
        pagination_parameters.item_count = page.total
        # Each row is its description's JSON (remembered by the service while nothing it
        # depends on changes) followed by the fields of the day: the very bytes json.dumps
        # gives for the whole list, since those fields come last in the schema.
        rows = [
            f"{row.rendered}, {json.dumps(_dump_vacancy(row.today), ensure_ascii=False)[1:]}"
            for row in page.items
        ]
        return current_app.response_class(
            f"[{', '.join(rows)}]", status=200, mimetype="application/json"
        )

    # An instance, not the class: webargs would build a schema (deep copies of its fields)
    # on every request. The schema keeps no state between loads.
    @blp.arguments(NewVacancySchema())
    @blp.response(201, VacancySchema)
    @blp.alt_response(
        200,
        schema=VacancySchema,
        description="Requête déjà reçue (même clé, ou même logement et même date)",
    )
    @blp.alt_response(403, description="Seul le bailleur du logement l'enregistre")
    @blp.alt_response(
        404, description="Logement inconnu, ou que l'appelant ne voit pas (champ nommé)"
    )
    @blp.alt_response(409, description="Une libération de ce logement est encore en cours")
    @blp.doc(**IDEMPOTENCY)
    def post(self, data):
        """Enregistrer un logement libéré : Flux l'oriente vers la part la plus en retard.

        La réponse donne l'orientation et son explication : pour chaque part éligible, son
        pourcentage, son objectif, son réalisé et son retard à cet instant (en unités : 10 000
        = un logement), la règle et sa version. Un logement déduit du flux (`deduction`)
        n'est orienté vers personne. `orient_to` déroge à la proposition, avec un motif.
        Une libération datée d'une année dont l'année précédente n'est pas encore clôturée
        (pour ce bailleur dans ce département) est enregistrée sans orientation : étape
        `held`, `held.message` le dit ; elle est orientée à la clôture, avec le report des
        écarts, et son délai de désignation court de ce jour-là.
        """
        key = _idempotency_key()
        logged = vacancies.log_vacancy(
            db.session,
            current_actor(),
            NewVacancy(
                available_on=data["available_on"],
                dwelling_id=data.get("dwelling"),
                rpls_id=data.get("rpls_id"),
                landlord=data.get("landlord"),
                letting=data["letting"],
                deduction=data["deduction"],
                orient_to=data["orient_to"],
                reason=data["reason"],
                idempotency_key=key,
                notified_on=data.get("notified_on"),
            ),
        )
        if key is not None and not logged.created:
            first = _first_response(f"landlord:{_landlord_of(logged.vacancy_id)}", key)
            if first is not None:  # the first response, as it was (README)
                db.session.rollback()
                return first
        if logged.state is not None:  # a new vacancy: answered from memory, before commit
            body = vacancies.describe(
                db.session, logged.vacancy_id, current_actor(), logged.state, logged.labels
            )
            dumped = _dump_vacancy(body)  # as VacancySchema dumps it (tested), faster
            if key is None:
                db.session.commit()
                return _json(dumped, 201)
            owner = f"landlord:{dumped['landlord_id']}"
            fingerprint = idempotency.fingerprint("vacancies", data)
            idempotency.remember(db.session, owner, key, fingerprint, 201, dumped)
            db.session.commit()
            return _json(dumped, 201)  # byte for byte what a retry will get
        db.session.commit()
        return vacancies.describe(db.session, logged.vacancy_id, current_actor()), 200


IMPORT_MAX_BYTES = 512 * 1024 * 1024  # a large landlord's year is tens of megabytes


@blp.before_request
def _larger_uploads_for_imports() -> None:
    # The global limit (max_content_length) is sized for JSON bodies; an import streams its
    # file to disk, so it may be far larger (FLUX_IMPORT_MAX_BYTES to change it).
    if request.endpoint == "vacancies.VacancyImport":
        request.max_content_length = current_app.config.get("IMPORT_MAX_BYTES", IMPORT_MAX_BYTES)


@blp.route("/import")
class VacancyImport(MethodView):
    @blp.arguments(VacancyImportQuerySchema, location="query")
    @blp.arguments(VacancyImportFileSchema, location="files")
    @blp.response(202, ImportJobSchema, headers={"Location": {"schema": {"type": "string"}}})
    @blp.alt_response(403, description="Seul le bailleur (ou un administrateur) importe")
    def post(self, query, files):
        """Importer les libérations d'un bailleur et leurs événements depuis son ERP.

        Fichier CSV (séparateur `;` ou `,`, UTF-8 avec ou sans BOM) ou JSON Lines (`.jsonl`),
        colonnes : `type;reference;rpls_id;available_on;letting;deduction;date;candidates;dalo;
        rank;prioritaire;first_quartile;reason` (voir le README, « Import depuis un ERP »).
        Chaque ligne a sa clé (la `reference` du bailleur, ou le numéro RPLS et la date) :
        envoyer deux fois le même fichier ne change rien. Les lignes sont appliquées par date
        dans chaque périmètre, orientées par la même règle, avec la même explication, que
        `POST /vacancies`. La réponse (202) donne l'adresse de la tâche (`Location`) : la
        consulter jusqu'à `succeeded` pour le compte rendu ligne par ligne (créée, déjà
        présente, refusée avec son motif). `all_or_nothing` (défaut) : une ligne refusée et
        rien n'est écrit ; `dry_run` : tout est décidé et rapporté, rien n'est écrit.
        """
        upload = files["file"]
        if not hasattr(upload, "read"):
            raise InvalidInput(
                "Fichier attendu dans le champ « file ».",
                errors={"files": {"file": ["Fichier attendu."]}},
            )
        try:
            job, path = import_jobs.submit(
                db.session,
                current_actor(),
                "vacancies",
                upload,
                upload.filename or "import.csv",
                query.get("landlord"),
                dry_run=query["dry_run"],
                all_or_nothing=query["all_or_nothing"],
            )
        except InvalidInput as error:
            # The service names the landlord as a body field; here it is a query parameter.
            if "json" in error.errors:
                error.errors = {"query": error.errors.pop("json"), **error.errors}
            raise
        db.session.commit()
        body = import_jobs.describe(job)
        import_jobs.start(current_app._get_current_object(), job.id, path, current_actor())
        location = url_for("imports.ImportItem", job_id=job.id)
        return body, 202, {"Location": location}


@blp.route("/<int:vacancy_id>")
class VacancyItem(MethodView):
    @blp.response(200, VacancySchema)
    def get(self, vacancy_id):
        """Une libération : orientation expliquée, étape, délais, événements possibles ; pour
        le bailleur et le réservataire titulaire, ce qu'il faut pour choisir des candidats
        (`dwelling_details`)."""
        actor = current_actor()
        vacancy_events.visible(db.session, actor, vacancy_id)
        body = vacancies.describe(db.session, vacancy_id, actor)
        return vacancy_lists.with_dwelling_details(db.session, actor, [body])[0]


@blp.route("/<int:vacancy_id>/events")
class VacancyEvents(MethodView):
    @blp.response(200, VacancyEventSchema(many=True))
    def get(self, vacancy_id):
        """Les écritures du journal de cette libération."""
        vacancy_events.visible(db.session, current_actor(), vacancy_id)
        return vacancies.describe(db.session, vacancy_id, current_actor())["events"]

    @blp.arguments(EventSchema)
    @blp.response(201, VacancySchema)
    @blp.alt_response(
        200,
        schema=VacancySchema,
        description="Requête déjà reçue avec la même clé et le même corps : la première réponse",
    )
    @blp.alt_response(
        403,
        description="Événement réservé au bailleur (ou désignation par le réservataire titulaire)",
    )
    @blp.alt_response(409, description="Clé d'idempotence déjà utilisée pour un autre corps")
    @blp.doc(**IDEMPOTENCY)
    def post(self, data, vacancy_id):
        """Enregistrer un événement : désignation, décision CALEOL, carence, reprise, bail,
        retrait, réorientation (motif obligatoire) ou correction d'une écriture.

        Une transition impossible (par exemple un bail avant l'attribution) est refusée (422)
        avec l'étape du logement et les événements possibles.
        """
        key = _idempotency_key()
        if key is None:
            vacancy_events.record(db.session, current_actor(), vacancy_id, data)
            db.session.commit()
            return vacancies.describe(db.session, vacancy_id, current_actor())
        return _record_once(vacancy_id, data, key)


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (1 <= len(key) <= 200 and key.isprintable()):
        raise InvalidInput(
            "Clé d'idempotence de 1 à 200 caractères imprimables.",
            errors={"headers": {"Idempotency-Key": ["Longueur ou caractères invalides."]}},
        )
    return key


def _first_response(owner: str, key: str, print_: str | None = None):
    """The stored first response to this key, as a 200 response (None if none is stored)."""
    found = (
        idempotency.earlier(db.session, owner, key, print_)
        if print_ is not None
        else db.session.scalar(
            sa.select(IdempotentRequest).where(
                IdempotentRequest.owner == owner, IdempotentRequest.key == key
            )
        )
    )
    if found is None:
        return None
    return _json(found.response, 200)


def _description_json(body: dict[str, Any]) -> str:
    """A vacancy's description as the list writes it, without its closing brace (the fields
    of the day follow). Dumped without marshmallow's per-field walk (a third of a 500-row
    page), exactly as the declared schema would (tests/api/test_worklists.py compares both)."""
    return json.dumps(_dump_vacancy(body), ensure_ascii=False)[:-1]


def _json(body: Any, status: int):
    return current_app.response_class(
        json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json"
    )


def _landlord_of(vacancy_id: int) -> int | None:
    return db.session.scalar(
        sa.select(JournalEntry.landlord_id).where(JournalEntry.id == vacancy_id)
    )


def _record_once(vacancy_id: int, data: dict, key: str):
    """An event sent with an Idempotency-Key: checked under the scope's lock, so that
    concurrent retries are serialised and only the first one records anything."""
    actor = current_actor()
    owner = idempotency.owner_of(actor)
    print_ = idempotency.fingerprint(f"vacancies/{vacancy_id}/events", data)
    logged = vacancy_events.visible(db.session, actor, vacancy_id)
    allocation_book.lock(db.session, Scope(logged.landlord_id, logged.departement_code))
    first = _first_response(owner, key, print_)
    if first is not None:
        db.session.rollback()
        return first
    vacancy_events.record(db.session, actor, vacancy_id, data)
    body = _dump_vacancy(vacancies.describe(db.session, vacancy_id, actor))
    try:
        idempotency.remember(db.session, owner, key, print_, 201, body)
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()  # a concurrent retry won the key: answer as it did
        first = _first_response(owner, key, print_)
        if first is None:
            raise
        return first
    return _json(body, 201)  # byte for byte what a retry will get
