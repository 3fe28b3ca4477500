"""SQLAlchemy tables, one module per aggregate. Importing this package registers them all."""

from flux.models.allocation import AllocationScope
from flux.models.audit import AuditRecord, audit
from flux.models.conventions import (
    Convention,
    ConventionVersion,
    EtatDerogation,
    ReformEpci,
    Share,
    ShareTerms,
    VersionCommune,
)
from flux.models.deductions import DeductionForecast
from flux.models.dwellings import Dwelling
from flux.models.imports import ImportJob
from flux.models.journal import JournalEntry
from flux.models.notifications import IdempotentRequest, Notification, NotificationPreference
from flux.models.organisations import Organisation
from flux.models.reports import ReportFacts, ReportJob
from flux.models.scheduling import Alert, IssuedReport, JobRun
from flux.models.territories import Commune, Departement, Epci, Qpv, qpv_communes
from flux.models.users import ApiToken, User

for _model in (
    Organisation,
    Dwelling,
    Convention,
    ConventionVersion,
    Share,
    ShareTerms,
    VersionCommune,
    User,
    ApiToken,
    AllocationScope,
    DeductionForecast,
    EtatDerogation,
):
    audit(_model)

__all__ = [
    "Alert",
    "IssuedReport",
    "JobRun",
    "IdempotentRequest",
    "Notification",
    "NotificationPreference",
    "AuditRecord",
    "AllocationScope",
    "ApiToken",
    "Commune",
    "Convention",
    "ConventionVersion",
    "DeductionForecast",
    "Departement",
    "Dwelling",
    "Epci",
    "ImportJob",
    "EtatDerogation",
    "ReformEpci",
    "JournalEntry",
    "Organisation",
    "Qpv",
    "ReportFacts",
    "ReportJob",
    "Share",
    "ShareTerms",
    "User",
    "VersionCommune",
    "qpv_communes",
]
