"""What the API, the staff pages and Open311 share about HTTP requests and responses: the
fields and limits of what a request may carry (``fields``), the body of a new case
(``case_body``), ETags of public reads (``etag``) and how a stored file is sent (``files``).
Nothing here decides who may do what (``coord/services/policy.py``) or changes data."""
