"""The `flux` command (a Flask CLI group). FLUX_DATABASE_URL selects the database."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from werkzeug.serving import run_simple

from flux import create_app, demo, loaders, migrate, simulation
from flux.db import db
from flux.domain.allocation import Rule
from flux.domain.errors import DomainError
from flux.domain.reference import Role
from flux.services import users
from flux.services.errors import ServiceError


def _app(*_args: object) -> object:
    app = create_app()
    context = click.get_current_context(silent=True)
    if context is not None:  # close the command's database connections when it ends
        context.call_on_close(lambda: _dispose(app))
    return app


def _dispose(app: Flask) -> None:
    with app.app_context():
        db.engine.dispose()


@click.group(
    cls=FlaskGroup,
    create_app=_app,
    add_default_commands=False,
    add_version_option=False,
    load_dotenv=False,
)
def main() -> None:
    """Flux : gestion en flux des contingents de réservation de logements sociaux.

    La base de données est choisie par FLUX_DATABASE_URL (défaut : instance/flux.sqlite).
    """


def _fail(message: str) -> None:
    click.echo(f"Erreur : {message}", err=True)
    sys.exit(1)


@main.command("run")
@click.option("--host", default="127.0.0.1", show_default=True, help="Adresse d'écoute.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port d'écoute.")
@with_appcontext
def run_command(host: str, port: int) -> None:
    """Servir l'API (serveur de développement ; en production : gunicorn)."""
    click.echo(f"Flux écoute sur http://{host}:{port}/  —  API : http://{host}:{port}/api/v1/docs")
    click.echo(f"Pages : connexion sur http://{host}:{port}/connexion (comptes : voir ci-dessus)")
    # Flask's app.run() refuses to run under the flask CLI; call Werkzeug's server directly.
    run_simple(host, port, current_app._get_current_object(), threaded=True)


@main.group("db")
def db_group() -> None:
    """Schéma de la base de données (migrations Alembic)."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Appliquer les migrations jusqu'à REVISION (défaut : la dernière).

    Sous PostgreSQL, avec FLUX_SERVICE_ROLE, donne ensuite au rôle du service les droits
    dont il a besoin, sans plus (voir « Déploiement en production »)."""
    url = current_app.config["DATABASE_URL"]
    migrate.upgrade(url, revision)
    click.echo(f"Base à jour ({revision}).", err=True)
    role = current_app.config.get("SERVICE_ROLE")
    if role and url.startswith("postgresql"):
        migrate.grant_service_role(url, role)
        click.echo(f"Droits du rôle de service « {role} » accordés.", err=True)


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Revenir à REVISION (« base » : base vide)."""
    migrate.downgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"Base ramenée à {revision}.", err=True)


@db_group.command("new-generation")
@with_appcontext
def db_new_generation() -> None:
    """Après une restauration ou une retouche du journal hors de Flux : les processus en
    service abandonnent leurs états en cache et les recalculent depuis la base."""
    from flux.services import allocation_book

    count = allocation_book.new_generation(db.session)
    db.session.commit()
    click.echo(f"Nouvelle génération pour {count} périmètre(s).", err=True)


@main.command("demo")
@click.option(
    "--if-empty",
    is_flag=True,
    help="Ne charger la démo que si elle est absente ; sinon émettre de nouveaux jetons.",
)
@click.option(
    "--until",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Dernier jour de l'activité simulée (défaut : aujourd'hui).",
)
@click.option(
    "--no-activity",
    is_flag=True,
    help="Charger le territoire, le patrimoine et les conventions sans libérations.",
)
@with_appcontext
def demo_command(if_empty: bool, until: datetime | None, no_activity: bool) -> None:
    """Charger le territoire de démonstration et afficher un jeton par utilisateur de démo.

    La démo comprend les libérations de 2025 et de 2026 jusqu'à ce jour, orientées et suivies
    jusqu'au bail par les mêmes services que l'API.
    """
    session = db.session
    if demo.is_loaded(session):
        if not if_empty:
            _fail(
                "la démo est déjà chargée dans cette base (utilisez --if-empty pour de "
                "nouveaux jetons)."
            )
        click.echo("Démo déjà chargée : nouveaux jetons émis.", err=True)
        tokens = demo.fresh_tokens(session)
    else:
        try:
            last_day = None if no_activity else (until.date() if until else date.today())
            tokens = demo.load(session, activity_until=last_day)
        except (loaders.FileError, ServiceError) as error:
            session.rollback()
            _fail(str(error))
    session.commit()
    click.echo("Jetons de démonstration (Authorization: Bearer <jeton>) :")
    for user in tokens:
        click.echo(f"  {user.role:<10} {user.organisation or '-':<26} {user.token}")
    click.echo("Comptes de démonstration pour les pages (adresse, mot de passe) :")
    for user in tokens:
        click.echo(f"  {user.email:<58} {user.password}")


@main.group("users")
def users_group() -> None:
    """Utilisateurs et jetons d'accès."""


@users_group.command("create")
@click.option("--email", required=True, help="Adresse électronique (identifiant).")
@click.option(
    "--role",
    required=True,
    type=click.Choice([r.value for r in Role]),
    help="Rôle de l'utilisateur.",
)
@click.option("--org", "org_code", help="Code de l'organisation (inutile pour admin).")
@click.option("--read-only", is_flag=True, help="Compte bailleur en lecture seule.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Lire un mot de passe (connexion aux pages web) sur l'entrée standard.",
)
@click.option(
    "--expires-in-days",
    type=click.IntRange(1, 3650),
    default=users.DEFAULT_TOKEN_DAYS,
    show_default=True,
    help="Durée de validité du jeton.",
)
@with_appcontext
def users_create(
    email: str,
    role: str,
    org_code: str | None,
    read_only: bool,
    password_stdin: bool,
    expires_in_days: int,
) -> None:
    """Créer un utilisateur ; seul son jeton est écrit sur la sortie standard."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    try:
        created = users.create_user(
            db.session,
            email=email,
            role=Role(role),
            org_code=org_code,
            can_write=not read_only,
            password=password,
            token_days=expires_in_days,
        )
    except ServiceError as error:
        db.session.rollback()
        _fail(error.detail)
    db.session.commit()
    click.echo(created.token)


@users_group.command("revoke")
@click.option("--email", required=True, help="Utilisateur dont révoquer tous les jetons.")
@with_appcontext
def users_revoke(email: str) -> None:
    """Révoquer tous les jetons d'un utilisateur (ils sont refusés aussitôt)."""
    try:
        count = users.revoke_all(db.session, email)
    except ServiceError as error:
        db.session.rollback()
        _fail(error.detail)
    db.session.commit()
    click.echo(f"{count} jeton(s) révoqué(s).", err=True)


@main.group("conventions")
def conventions_group() -> None:
    """Conventions déclaratives (fichiers TOML, voir conventions/README.md)."""


@conventions_group.command("load")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@with_appcontext
def conventions_load(directory: Path) -> None:
    """Valider et charger toutes les conventions de DIRECTORY, en une seule transaction."""
    try:
        lines = loaders.load_conventions(db.session, directory)
    except loaders.FileError as error:
        db.session.rollback()
        _fail(f"{error} — rien n'a été chargé.")
    db.session.commit()
    click.echo("\n".join(lines))


@main.group("territories")
def territories_group() -> None:
    """Référentiel territorial (départements, EPCI, communes, QPV)."""


@territories_group.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def territories_load(file: Path) -> None:
    """Charger (ou mettre à jour) un fichier de territoire TOML."""
    try:
        counts = loaders.load_territory(db.session, file)
    except loaders.FileError as error:
        db.session.rollback()
        _fail(str(error))
    db.session.commit()
    click.echo(f"{counts['communes']} communes, {counts['epci']} EPCI, {counts['qpv']} QPV.")


@main.group("organisations")
def organisations_group() -> None:
    """Bailleurs et réservataires."""


@organisations_group.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def organisations_load(file: Path) -> None:
    """Créer les organisations d'un fichier TOML ([[organisation]])."""
    try:
        count = loaders.load_organisations(db.session, file)
    except loaders.FileError as error:
        db.session.rollback()
        _fail(str(error))
    db.session.commit()
    click.echo(f"{count} organisations créées.")


@main.group("import")
def import_group() -> None:
    """Imports de fichiers (CSV, JSON Lines)."""


@import_group.command("dwellings")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--landlord", required=True, help="Code du bailleur.")
@click.option("--dry-run", is_flag=True, help="Tout vérifier et compter, rien écrire.")
@with_appcontext
def import_dwellings(file: Path, landlord: str, dry_run: bool) -> None:
    """Importer le patrimoine d'un bailleur (CSV lu au fil de l'eau ; rien n'est écrit si une
    ligne est fausse)."""

    def progress(done: int, _total: int | None) -> None:
        click.echo(f"\r{done} lignes", nl=False, err=True)

    try:
        report = loaders.import_dwellings(db.session, file, landlord, progress=progress)
    except loaders.FileError as error:
        db.session.rollback()
        click.echo("", err=True)
        _fail(str(error))
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    click.echo("", err=True)
    click.echo(
        f"{report.created} créés, {report.updated} mis à jour, {report.unchanged} inchangés"
        + (" (essai : rien écrit)." if dry_run else ".")
    )


@import_group.command("vacancies")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--landlord", required=True, help="Code du bailleur.")
@click.option("--dry-run", is_flag=True, help="Tout décider et rapporter, rien écrire.")
@click.option(
    "--keep-good-rows", is_flag=True, help="Garder les bonnes lignes si d'autres sont refusées."
)
@with_appcontext
def import_vacancies(file: Path, landlord: str, dry_run: bool, keep_good_rows: bool) -> None:
    """Importer les libérations et leurs événements (CSV ou JSON Lines ; voir le README)."""
    from flux.services import vacancy_import
    from flux.services.access import SYSTEM

    def progress(done: int, total: int) -> None:
        click.echo(f"\r{done}/{total} lignes", nl=False, err=True)

    try:
        with file.open("rb") as stream:
            report = vacancy_import.import_vacancies(
                db.session,
                SYSTEM,
                stream,
                file.name,
                landlord,
                dry_run=dry_run,
                all_or_nothing=not keep_good_rows,
                progress=progress,
            )
    except (ServiceError, DomainError) as error:
        db.session.rollback()
        _fail(getattr(error, "detail", None) or str(error))
    if report.written:
        db.session.commit()
    else:
        db.session.rollback()
    click.echo("", err=True)
    for refusal in report.as_dict()["refusals"]:
        click.echo(f"ligne {refusal['line']} : {refusal['reason']}")
    verdict = "rien écrit" if not report.written else "écrit"
    click.echo(
        f"{report.created} créée(s), {report.existing} déjà présente(s), "
        f"{report.refused} refusée(s) ; {verdict}."
    )
    if report.refused and not keep_good_rows:
        sys.exit(1)


@main.group("year")
def year_group() -> None:
    """Clôture annuelle (gel des bilans, report des écarts sur l'année suivante)."""


@year_group.command("close")
@click.argument("year", type=click.IntRange(2000, 2100))
@click.option("--landlord", help="Code (ou identifiant) du bailleur ; défaut : tous.")
@click.option("--departement", help="Code du département ; défaut : tous.")
@click.option(
    "--today",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Date du jour à retenir (AAAA-MM-JJ ; défaut : aujourd'hui, heure de Paris).",
)
@with_appcontext
def year_close_command(
    year: int, landlord: str | None, departement: str | None, today: datetime | None
) -> None:
    """Clôturer l'année YEAR pour un bailleur × département (ou pour tous).

    Fige les objectifs, réalisés et écarts de chaque part, écrit au journal le report des
    écarts sur l'année suivante (selon la politique de chaque convention) et refuse ensuite
    toute écriture datée de l'année clôturée. Les années antérieures encore ouvertes sont
    clôturées d'abord. Les libérations de l'année suivante mises en attente de cette clôture
    sont alors orientées, avec le report. Relancer la commande ne change rien.
    """
    from flux.services import alerts, organisations, year_close
    from flux.services.access import SYSTEM

    try:
        landlord_id = None
        if landlord is not None:
            ref: int | str = int(landlord) if landlord.isdigit() else landlord
            landlord_id = organisations.get_by_ref(db.session, ref, "landlord").id
        refused: list = []
        closings = year_close.close_all(
            db.session,
            SYSTEM,
            year,
            today.date() if today else None,
            landlord=landlord_id,
            departement=departement,
            refused=refused,
        )
        raised = alerts.raise_all(db.session, refused, None)
    except (ServiceError, DomainError) as error:
        db.session.rollback()
        _fail(getattr(error, "detail", None) or str(error))
    db.session.commit()
    if not closings:
        click.echo("Aucun périmètre (bailleur × département) ne correspond.")
    for draft in refused:
        click.echo(f"Alerte : {draft.message}", err=True)
    if raised:
        click.echo(f"{raised} nouvelle(s) alerte(s) held_refused.", err=True)
    for closing in closings:
        state = "clôturée" if closing.created else "déjà clôturée"
        carried = sum(1 for row in closing.shares.values() if row["carry_units"])
        click.echo(
            f"Bailleur {closing.scope.landlord_id} — département {closing.scope.departement} — "
            f"{closing.year} : {state} ({len(closing.shares)} parts, {carried} reports)."
        )


@main.group("scheduler")
def scheduler_group() -> None:
    """L'ordonnanceur : le second processus d'un déploiement, à côté du serveur web."""


@scheduler_group.command("run")
@click.option(
    "--today",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Date du rattrapage au démarrage (AAAA-MM-JJ ; défaut : aujourd'hui, heure de Paris).",
)
@click.option("--once", is_flag=True, help="Lancer chaque tâche une fois, puis s'arrêter.")
@with_appcontext
def scheduler_run(today: datetime | None, once: bool) -> None:
    """Lancer l'ordonnanceur (APScheduler, fuseau Europe/Paris) jusqu'à son arrêt.

    Au démarrage, chaque tâche est lancée une fois (rattrapage : une période déjà faite est
    sautée), puis chaque jour à son heure : year-close 0 h 30, deadlines 1 h, bilan-campaign
    2 h, nightly-check 3 h, expiring-conventions 6 h. Sous PostgreSQL, un second ordonnanceur
    sur la même base s'arrête aussitôt avec un message.
    """
    import logging

    from flux.scheduler import runner

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        runner.serve(app, app.config["DATABASE_URL"], today.date() if today else None, once)
    except runner.AlreadyRunning as error:
        _fail(str(error))
    except KeyboardInterrupt:
        click.echo("Ordonnanceur arrêté.")


@main.group("jobs")
def jobs_group() -> None:
    """Les tâches planifiées, lancées à la main (rattrapage, essais)."""


@jobs_group.command("run")
@click.argument(
    "name",
    type=click.Choice(
        ["deadlines", "year-close", "bilan-campaign", "nightly-check", "expiring-conventions"]
    ),
)
@click.option(
    "--today",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Lancer la tâche comme si nous étions ce jour-là (AAAA-MM-JJ).",
)
@with_appcontext
def jobs_run(name: str, today: datetime | None) -> None:
    """Lancer la tâche NAME maintenant, comme à la date --today.

    deadlines : carences et reprises dont le délai est échu ; year-close : clôture de l'année
    écoulée ; bilan-campaign : bilans annuels de l'année écoulée (du 2 janvier au 28 février,
    puis liste des bilans non émis) ; nightly-check : recalcul des états de droits et
    invariants ; expiring-conventions : conventions échéant dans les 90 jours. Une tâche déjà
    faite pour sa période n'est pas refaite.
    """
    from flux.scheduler import runner

    outcome = runner.run_job(
        current_app._get_current_object(), name, today.date() if today else None
    )  # type: ignore[attr-defined]
    labels = {
        "succeeded": "terminée",
        "skipped": "déjà faite pour cette période",
        "idle": "rien à faire à cette date",
        "failed": "en échec",
    }
    click.echo(f"{name} ({outcome.period or '-'}) : {labels[outcome.status]} {outcome.summary}")
    if outcome.status == "failed":
        sys.exit(1)


@main.group("bilans")
def bilans_group() -> None:
    """Les bilans annuels émis par la campagne."""


@bilans_group.command("list")
@click.option("--year", type=click.IntRange(2000, 2100), required=True, help="Année du bilan.")
@click.option("--departement", help="Code du département.")
@click.option("--missing", is_flag=True, help="Seulement les bilans non émis.")
@with_appcontext
def bilans_list(year: int, departement: str | None, missing: bool) -> None:
    """Lister, par bailleur × réservataire, les bilans de l'année : émis (date, empreinte
    SHA-256) ou non émis (à signaler après le 28 février)."""
    from flux.services import bilan_campaign
    from flux.services.access import SYSTEM

    rows = bilan_campaign.status(db.session, SYSTEM, year)
    for row in rows:
        if departement and row["departement"] != departement:
            continue
        if missing and row["status"] != "missing":
            continue
        state = (
            f"émis le {row['issued_on']:%d/%m/%Y} ({row['content_hash'][:12]}…)"
            + (" — en retard" if row["late"] else "")
            if row["status"] == "issued"
            else "NON ÉMIS"
        )
        click.echo(
            f"{row['departement']} ; {row['landlord']['name']} ; {row['reserver']['name']} ; "
            f"{state}"
        )


@main.group("report")
def report_group() -> None:
    """Bilans à la demande (l'API : GET /api/v1/reports/annual)."""


@report_group.command("annual")
@click.option("--year", required=True, type=click.IntRange(2000, 2100), help="Année du bilan.")
@click.option("--landlord", help="Code ou identifiant du bailleur.")
@click.option("--reserver", help="Code ou identifiant du réservataire (son bilan à lui).")
@click.option("--departement", help="Code du département (consolidation préfectorale).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "csv", "xlsx", "pdf", "zip"]),
    default="json",
    show_default=True,
    help="Format du bilan.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Fichier à écrire (défaut : la sortie standard).",
)
@click.option(
    "--as",
    "as_email",
    help="Adresse d'un utilisateur : le bilan tel qu'il le voit (défaut : administrateur).",
)
@with_appcontext
def report_annual(
    year: int,
    landlord: str | None,
    reserver: str | None,
    departement: str | None,
    fmt: str,
    output: Path | None,
    as_email: str | None,
) -> None:
    """Produire le bilan annuel de YEAR : droits par part, répartition, logements soustraits,
    contrôle des obligations, écritures tardives.

    Outil d'exploitation : sans --as, la commande voit tout (droits d'administrateur) ; avec
    --as, exactement ce que cet utilisateur verrait par l'API. Sans filtre : tous les
    bailleurs et départements visibles.
    """
    import sqlalchemy as sa

    from flux.models import User
    from flux.reporting import render
    from flux.services import reports
    from flux.services.access import SYSTEM, Actor

    def ref(value: str | None) -> int | str | None:
        return int(value) if value is not None and value.isdigit() else value

    actor = SYSTEM
    if as_email is not None:
        user = db.session.scalar(sa.select(User).where(User.email == as_email))
        if user is None or not user.active:
            _fail(f"aucun utilisateur actif « {as_email} ».")
        actor = Actor(
            user.id,
            user.role,
            user.organisation_id,
            user.organisation.departement_code if user.role is Role.PREFECTURE else None,
            can_write=False,
        )
    try:
        report = reports.annual(
            db.session, actor, reports.ReportQuery(year, ref(landlord), ref(reserver), departement)
        )
    except ServiceError as error:
        _fail(error.detail)
    content = render.render(report, fmt).content
    if output is None:
        click.echo(content, nl=False)  # bytes: written as they are
    else:
        output.write_bytes(content)
        click.echo(f"Bilan écrit dans {output}.", err=True)


@main.command("simulate", with_appcontext=False)  # never opens FLUX_DATABASE_URL
@click.option(
    "--conventions",
    "directory",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Dossier comme conventions/demo/ (territory.toml, organisations.toml, "
    "dwellings-*.csv, conventions/), ou son sous-dossier conventions/.",
)
@click.option(
    "--vacancies", required=True, type=click.IntRange(min=1), help="Logements libérés à tirer."
)
@click.option("--seed", required=True, type=int, help="Graine du tirage (même graine, même CSV).")
@click.option("--year", required=True, type=click.IntRange(1900, 2100), help="Année simulée.")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Fichier CSV des décisions (une ligne par logement libéré).",
)
@click.option(
    "--deduction-rate",
    default=0.15,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Part des logements libérés soustraits du flux.",
)
@click.option(
    "--rule",
    type=click.Choice([rule.value for rule in Rule]),
    default=Rule.LARGEST_DEFICIT.value,
    show_default=True,
    help="Règle d'orientation de chaque périmètre (bailleur × département).",
)
def simulate_command(
    directory: Path,
    vacancies: int,
    seed: int,
    year: int,
    out: Path,
    deduction_rate: float,
    rule: str,
) -> None:
    """Simuler une année d'orientations sur des conventions en projet.

    Les fichiers sont validés et chargés dans une base temporaire, supprimée ensuite (la base
    de FLUX_DATABASE_URL n'est jamais ouverte) ; les décisions sont écrites dans le CSV et
    l'écart de chaque droit à son objectif est résumé.
    """
    try:
        result = simulation.run(
            directory,
            vacancies=vacancies,
            seed=seed,
            year=year,
            out=out,
            deduction_rate=deduction_rate,
            rule=Rule(rule),
        )
    except simulation.SimulationError as error:
        _fail(f"{error} — rien n'a été simulé.")
    for message in result.messages:
        click.echo(message, err=True)
    click.echo(simulation.summary(result))
    click.echo(f"\nDécisions écrites dans {out}.", err=True)


def _register_operations() -> None:
    from flux.ops.cli import register

    register(main)


_register_operations()
