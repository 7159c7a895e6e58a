"""The one place to tighten the whole API: its Blueprint, request parsers and pagination
(the base Schema and fields, shared with the staff pages, are in ``coord.http.fields``)."""

from __future__ import annotations

import json
from typing import Any, NoReturn

import flask_smorest
import marshmallow as ma
from marshmallow import missing
from webargs.flaskparser import FlaskParser, abort, is_json_request

MAX_PAGE = 100_000
DIRECTORY_PAGE = 50  # default page of the directory lists (units, categories, policies, ...)


class CoordParser(FlaskParser):
    """webargs' parser, answering every unreadable JSON body with a 4xx that says what is
    wrong: not sent as JSON (415), a syntax error with its line and column, text that is not
    UTF-8, nesting too deep or a number too long (400)."""

    def _raw_load_json(self, req: Any) -> Any:
        if not is_json_request(req):
            if _has_body(req):
                _refuse_body(
                    415,
                    "Send the body as JSON, with 'Content-Type: application/json' "
                    f"(got {req.mimetype or 'no content type'!r}).",
                )
            return missing
        # A body the server cannot read (a bad chunk size) raises here: coord/api/errors.py
        # answers that with a 400 wherever it happens.
        raw = req.get_data(cache=True)
        try:
            return json.loads(raw.decode("utf-8"))
        except json.JSONDecodeError as exc:
            _refuse_body(
                400, f"Invalid JSON body: {exc.msg} (line {exc.lineno}, column {exc.colno})."
            )
        except UnicodeDecodeError:
            _refuse_body(400, "Invalid JSON body: it is not UTF-8 text.")
        except RecursionError:
            _refuse_body(400, "Invalid JSON body: nested too deeply.")
        except ValueError:  # int() refuses literals over 4300 digits
            _refuse_body(400, "Invalid JSON body: a number has too many digits.")


def _has_body(req: Any) -> bool:
    return bool(req.content_length) or "chunked" in req.headers.get("Transfer-Encoding", "")


def _refuse_body(status: int, message: str) -> NoReturn:
    abort(status, message=message, messages={"json": [message]})
    raise AssertionError("unreachable")


class PaginationParser(CoordParser):
    """Pages are bounded, so an absurd page number is a 422, not a database overflow."""

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        params = super().parse(*args, **kwargs)
        if getattr(params, "page", 0) > MAX_PAGE:
            abort(422, messages={"query": {"page": [f"Must be at most {MAX_PAGE}."]}})
        return params


def page_of(query: Any, pagination_parameters: Any) -> list[Any]:
    """One page of ``query`` (ordered, ties broken by a unique column) for a route decorated
    with ``@blp.paginate()``: its true count goes in the ``X-Pagination`` header."""
    from coord.extensions import db
    from coord.services.paging import count

    pagination_parameters.item_count = count(query)
    page = query.limit(pagination_parameters.page_size).offset(pagination_parameters.first_item)
    return list(db.session.execute(page).unique().scalars())


class Blueprint(flask_smorest.Blueprint):
    """Project Blueprint: the API-wide parsers live here."""

    ARGUMENTS_PARSER = CoordParser()
    PAGINATION_ARGUMENTS_PARSER = PaginationParser()

    def paginate(self, *args: Any, **kwargs: Any) -> Any:
        """flask-smorest's pagination, with the last page (``MAX_PAGE``) in the document as
        well as in the parser."""
        decorate = super().paginate(*args, **kwargs)

        def decorator(func: Any) -> Any:
            wrapper = decorate(func)
            parameters = wrapper._apidoc["pagination"]["parameters"]
            base = parameters["schema"]
            page = base._declared_fields["page"]
            parameters["schema"] = type(
                base.__name__,
                (base,),
                {
                    "page": ma.fields.Integer(
                        load_default=page.load_default,
                        validate=ma.validate.Range(min=1, max=MAX_PAGE),
                    )
                },
            )
            return wrapper

        return decorator

    def arguments(self, schema: Any, **kwargs: Any) -> Any:
        # One schema instance per route: given a class, webargs builds a new instance (and
        # copies its fields and nested schemas) on every request.
        return super().arguments(schema() if isinstance(schema, type) else schema, **kwargs)


def openapi_overrides(converter: Any, field: ma.fields.Field, **kwargs: Any) -> dict[str, Any]:
    """An apispec attribute function that runs last: ``metadata={"openapi": {...}}`` on a field
    has the last word on its document (a map's keys, which OpenAPI 3.0 cannot constrain, are
    written out as properties)."""
    return dict(field.metadata.get("openapi", {}))
