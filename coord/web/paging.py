"""Paging on the staff pages: the page number a list is asked for, and the link to another
page of the same list (the ``pager`` macro of templates/_pager.html)."""

from __future__ import annotations

from flask import request, url_for

from coord.domain.paging import MAX_PAGE
from coord.web.forms import form_int


def page_arg(name: str = "page") -> int:
    """The page number in the query string (``?page=3``; 1 when absent). Not a whole number
    from 1 to ``MAX_PAGE``: InvalidInput naming the field (a 422 page saying so)."""
    return form_int(request.args.get(name), name, maximum=MAX_PAGE) or 1


def page_url(number: int, name: str = "page", fragment: str | None = None) -> str:
    """This page's address with page ``number`` of the list whose page parameter is ``name``;
    the other query parameters (the search, other lists' pages) are kept."""
    args = request.args.to_dict(flat=False)
    args[name] = [str(number)]
    assert request.endpoint is not None
    return url_for(request.endpoint, **(request.view_args or {}), **args, _anchor=fragment)
