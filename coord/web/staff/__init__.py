"""Staff pages, one ``staff`` blueprint over several modules:

- ``blueprint``: the blueprint object ``blp`` (name "staff") the view modules register on.
- ``login``: the site root, login, logout, password change.
- ``inbox``: the inbox and the attention lists.
- ``search``: case search.
- ``intake``: the new-case form.
- ``case_page``: the case page, its actions, comments, handoffs and attachments.

Importing this package imports every view module, so all routes are on ``blp`` before the
app registers it. Re-exported: ``blp`` (registered by ``coord.web.register_web``).
"""

from __future__ import annotations

from coord.web.staff import case_page, inbox, intake, login, search
from coord.web.staff.blueprint import blp

__all__ = ["blp", "case_page", "inbox", "intake", "login", "search"]
