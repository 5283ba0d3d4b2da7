"""The search page: published episodes and cited articles matching what a listener typed."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from .. import search as finder
from ..text import InvalidInput

bp = Blueprint("search", __name__)


@bp.get("/search")
def search():
    """Search results for ?q=, or the empty form; a refused query is a 400 with the reason."""
    query = request.args.get("q", "")
    try:
        results = finder.search(query)
    except InvalidInput as error:
        return render_template("public/search.html", query=query, results=None,
                               error=error), 400
    return render_template("public/search.html", query=results.query, results=results,
                           error=None)
