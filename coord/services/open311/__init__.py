"""Open311 GeoReport v2 over the case services: what acts on the data. The HTTP side --
parsing the request arguments, building and rendering the GeoReport documents, the routes --
is in ``coord/open311/`` (docs/open311.md). Nothing is re-exported here; import the module:

- ``jurisdiction``: the jurisdiction served (its id, region scope and WIB time), the services
  (public, active categories) and the kelurahan served, the services' one attribute.
- ``clients``: the apps allowed to create requests, their api keys and their actor.
- ``submissions``: creating a service request (a case, channel ``open311``) through the case
  services, with its checks.
- ``queries``: reading requests: by id, by token, by the GET requests filters, and their
  latest public events and handoffs.

Decisions (docs/open311.md):
- ``service_request_id`` is the case's tracking code (``XXXX-XXXX``): a string, as the
  specification allows, and not sequential, so ids reveal nothing about volume and cannot be
  enumerated. The ``token`` is the citizen token printed on receipts; an app may hand it to
  the citizen for SKM feedback and disputes on /public/v1/track.
- Requests are cases of public categories located in the configured region. Only requests
  sent through Open311 show their description, address and coordinates (their senders posted
  them to a public API); cases recorded by staff show the kelurahan only, because their text
  may carry personal data.
- Every service has one required attribute, ``kelurahan`` (a ``singlevaluelist`` of the
  kelurahan served), because a case must be located in a kelurahan; the kelurahan office of
  the chosen region records and owns the case.
"""
