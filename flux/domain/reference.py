"""Reference vocabularies of the glossary (domain.md §1) shared by every layer."""

from __future__ import annotations

from enum import StrEnum


class OrganisationKind(StrEnum):
    LANDLORD = "landlord"  # bailleur
    RESERVER = "reserver"  # réservataire


class EpciKind(StrEnum):
    METROPOLE = "metropole"
    CU = "cu"  # communauté urbaine
    CA = "ca"  # communauté d'agglomération
    CC = "cc"  # communauté de communes
    EPT = "ept"  # établissement public territorial (Grand Paris)


class Typology(StrEnum):
    T1 = "T1"
    T2 = "T2"
    T3 = "T3"
    T4 = "T4"
    T5 = "T5"
    T6_PLUS = "T6+"


class Financing(StrEnum):
    PLAI = "PLAI"
    PLUS = "PLUS"
    PLS = "PLS"
    PLI = "PLI"
    AUTRE = "autre"


class OutOfFluxReason(StrEnum):
    """Why a dwelling never enters the flux (domain.md §2): kept en stock, or excluded."""

    STOCK_DEFENSE = "stock_defense"
    STOCK_SECURITE_INTERIEURE = "stock_securite_interieure"
    STOCK_SANTE = "stock_sante"
    FOYER = "foyer"
    NON_CONVENTIONNE = "non_conventionne"


OUT_OF_FLUX_LABELS = {
    OutOfFluxReason.STOCK_DEFENSE: "réservé en stock pour la défense nationale",
    OutOfFluxReason.STOCK_SECURITE_INTERIEURE: "réservé en stock pour la sécurité intérieure",
    OutOfFluxReason.STOCK_SANTE: "réservé en stock pour un établissement public de santé",
    OutOfFluxReason.FOYER: "logement-foyer",
    OutOfFluxReason.NON_CONVENTIONNE: "logement non conventionné",
}


class PerimeterKind(StrEnum):
    DEPARTEMENT = "departement"
    EPCI = "epci"
    COMMUNES = "communes"


class CountingEvent(StrEnum):
    """Which event makes an oriented dwelling count for its share (domain.md §5)."""

    ORIENTATION = "orientation"
    ATTRIBUTION = "attribution"
    LEASE = "lease"


class Role(StrEnum):
    ADMIN = "admin"
    LANDLORD = "landlord"
    RESERVER = "reserver"
    PREFECTURE = "prefecture"


class Letting(StrEnum):
    RELETTING = "reletting"  # relocation après départ
    FIRST_LETTING = "first_letting"  # première mise en location d'un programme neuf


class DeductionCategory(StrEnum):
    """Vacancies the law removes from the flux base (domain.md §3)."""

    INTERNAL_TRANSFER = "internal_transfer"  # mutation interne
    URBAN_RENEWAL = "urban_renewal"  # relogement ANRU / NPNRU
    DEGRADED_CONDO = "degraded_condo"  # relogement ORCOD
    UNFIT_HOUSING = "unfit_housing"  # habitat indigne (L.521-3-1 à L.521-3-3)
    SALE = "sale"  # vente de logements sociaux
