"""Paging on the staff pages: the page number a list is asked for, and the link to another
page of the same list (the ``pager`` macro of templates/_pager.html)."""

from __future__ import annotations

from typing import Any

from flask import request, url_for

from coord.domain.paging import MAX_PAGE
from coord.web.forms import form_int


def page_arg(name: str = "page") -> int:
    """The page number in the query string (``?page=3``; 1 when absent). Not a whole number
    from 1 to ``MAX_PAGE``: InvalidInput naming the field (a 422 page saying so)."""
    return form_int(request.args.get(name), name, maximum=MAX_PAGE) or 1


def page_url(
    number: int,
    name: str = "page",
    fragment: str | None = None,
    endpoint: str | None = None,
    view_args: dict[str, Any] | None = None,
) -> str:
    """The address of page ``number`` of the list whose page parameter is ``name``: this page's
    own (the other query parameters, such as the search or other lists' pages, kept), or
    ``endpoint`` with ``view_args`` (a page shown again after a refused form post, whose own
    address takes only posts)."""
    args: dict[str, Any] = request.args.to_dict(flat=False) if request.method == "GET" else {}
    args[name] = [str(number)]
    target = endpoint or request.endpoint
    assert target is not None
    values = view_args if view_args is not None else (request.view_args or {})
    return url_for(target, **values, **args, _anchor=fragment)
