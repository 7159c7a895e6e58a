"""WSGI entry point: ``gunicorn -c config/gunicorn.py wsgi:app``."""

from coord import create_app

app = create_app()
