"""Deduction forecasts: the landlord's forecast of the vacancies it will deduct from the flux."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from flux.api.auth import current_actor
from flux.api.common import page_of, paginated
from flux.db import db
from flux.services import deduction_forecasts
from flux.services.deduction_forecasts import ForecastFilters, NewForecasts

from .schemas import ForecastFilterSchema, ForecastSchema, NewForecastsSchema

blp = Blueprint(
    "deduction_forecasts",
    __name__,
    url_prefix="/deduction-forecasts",
    description="Prévisions de logements soustraits du flux, par catégorie",
)


@blp.route("")
class DeductionForecasts(MethodView):
    @blp.arguments(ForecastFilterSchema, location="query")
    @blp.response(200, ForecastSchema(many=True))
    @paginated(blp)
    def get(self, filters, pagination_parameters):
        """Prévisions visibles par l'appelant (filtres : année, bailleur, département,
        catégorie), une ligne par catégorie déclarée.

        Un bailleur voit les siennes ; un réservataire celles des bailleurs et départements où
        il détient une convention ; la préfecture celles de son département.
        """
        stmt = deduction_forecasts.visible_query(current_actor(), ForecastFilters(**filters))
        return page_of(stmt, pagination_parameters)

    @blp.arguments(NewForecastsSchema)
    @blp.response(201, ForecastSchema(many=True))
    @blp.alt_response(
        200,
        schema=ForecastSchema(many=True),
        description="Rien n'a changé : ces chiffres étaient déjà ceux en vigueur",
    )
    @blp.alt_response(403, description="Seul le bailleur (ou un administrateur) déclare")
    @blp.alt_response(409, description="Année clôturée pour ce bailleur dans ce département")
    def post(self, data):
        """Déclarer les prévisions d'une année dans un département, par catégorie.

        Avant le 28 février, le bailleur indique à ses réservataires le nombre de logements
        qu'il prévoit de soustraire du flux dans l'année, par catégorie (`internal_transfer`,
        `urban_renewal`, `degraded_condo`, `unfit_housing`, `sale`). Une catégorie déclarée à
        nouveau prend le nouveau chiffre (l'ancien reste dans les traces d'audit) ; une
        catégorie absente n'est pas modifiée. La réponse donne toutes les catégories déclarées
        pour ce bailleur, ce département et cette année : 201 si un chiffre a changé, 200 sinon.
        """
        declared = deduction_forecasts.declare(db.session, current_actor(), NewForecasts(**data))
        db.session.commit()
        return (declared.rows, 201) if declared.changed else (declared.rows, 200)
