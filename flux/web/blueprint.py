"""The pages' blueprint (one for every area: the areas are modules of views on it)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/ressources",
)
