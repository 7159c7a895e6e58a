"""The one ``staff`` blueprint that every staff page module registers its routes on.

Its name stays "staff", so the endpoints are ``staff.<view function>`` whichever module
holds the view.
"""

from __future__ import annotations

from flask import Blueprint

blp = Blueprint("staff", __name__)
