"""Operators' commands: `flux dwellings transfer`, `flux backup`, `flux restore`."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from flux.db import db


def _fail(message: str) -> None:
    click.echo(f"Erreur : {message}", err=True)
    sys.exit(1)


@click.group("dwellings")
def dwellings_group() -> None:
    """Patrimoine : cession d'un logement à un autre bailleur."""


@dwellings_group.command("transfer")
@click.argument("rpls_id")
@click.option("--from", "seller", required=True, help="Code du bailleur cédant.")
@click.option("--to", "buyer", required=True, help="Code du bailleur acquéreur.")
@click.option(
    "--on", "on", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Date de la cession."
)
@with_appcontext
def dwellings_transfer(rpls_id: str, seller: str, buyer: str, on: datetime) -> None:
    """Céder le logement RPLS_ID du bailleur cédant à l'acquéreur (vente) : un numéro RPLS
    n'appartient qu'à un bailleur à la fois. Tracé au journal d'audit."""
    import sqlalchemy as sa

    from flux.domain.errors import DomainError
    from flux.models import Dwelling
    from flux.services import dwellings, organisations
    from flux.services.access import SYSTEM
    from flux.services.errors import ServiceError

    try:
        landlord = organisations.get_by_ref(db.session, seller, "from")
        dwelling = db.session.scalar(
            sa.select(Dwelling).where(
                Dwelling.landlord_id == landlord.id, Dwelling.rpls_id == rpls_id
            )
        )
        if dwelling is None:
            _fail(f"Le bailleur « {seller} » n'a pas de logement RPLS « {rpls_id} ».")
        bought = dwellings.transfer(db.session, SYSTEM, dwelling.id, buyer, on.date())
    except (ServiceError, DomainError) as error:
        db.session.rollback()
        _fail(getattr(error, "detail", None) or str(error))
    db.session.commit()
    click.echo(
        f"Logement RPLS {rpls_id} cédé le {on:%d/%m/%Y} par « {seller} » à « {buyer} » "
        f"(logement {bought.id})."
    )


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(file: Path) -> None:
    """Sauvegarder la base de FLUX_DATABASE_URL dans FICHIER (PostgreSQL : pg_dump au format
    personnalisé ; SQLite : copie cohérente). Possible pendant que le service tourne."""
    from flux.ops import backup

    try:
        backup.backup(current_app.config["DATABASE_URL"], file)
    except backup.BackupError as error:
        _fail(str(error))
    click.echo(f"Sauvegarde écrite dans {file}.")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def restore_command(file: Path) -> None:
    """Restaurer FICHIER dans la base de FLUX_DATABASE_URL, qui doit être vide (une base
    neuve) ; puis appliquer les migrations (flux db upgrade) et, sous PostgreSQL avec
    FLUX_SERVICE_ROLE, redonner ses droits au rôle du service. Arrêtez le service web et
    l'ordonnanceur avant, relancez-les après."""
    from flux import migrate
    from flux.ops import backup

    url = current_app.config["DATABASE_URL"]
    db.engine.dispose()
    try:
        backup.restore(file, url)
    except backup.BackupError as error:
        _fail(str(error))
    migrate.upgrade(url)
    role = current_app.config.get("SERVICE_ROLE")
    if role and url.startswith("postgresql"):
        migrate.grant_service_role(url, role)
    click.echo(f"Sauvegarde {file} restaurée ; base à jour.")


def register(main: click.Group) -> None:
    main.add_command(dwellings_group)
    main.add_command(backup_command)
    main.add_command(restore_command)
