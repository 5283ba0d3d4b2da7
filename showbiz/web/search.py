"""The search page: published episodes and articles matching what a listener typed."""
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
        return _page(query, None, error), 400
    return _page(results.query, results, None)


def _page(query: str, results: finder.SearchResults | None, error: InvalidInput | None) -> str:
    return render_template("public/search.html", query=query, results=results, error=error,
                           max_length=finder.MAX_QUERY_LENGTH)
