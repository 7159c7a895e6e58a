"""Public surfaces under /public/v1: no bearer token, rate limited per IP address.

- ``track``: a case by its tracking code, its receipt and printable history, SKM feedback and
  disputes (docs/citizens.md).
"""
