#!/bin/sh
# One image, several processes: docker run IMAGE web|worker|cron|migrate|seed-demo|<command>
set -eu

case "${1:-web}" in
  web)       shift || true; exec gunicorn -c config/gunicorn.py "$@" wsgi:app ;;
  worker)    shift; exec python -m workers.supervise worker "$@" ;;
  cron)      exec python -m workers.supervise cron ;;
  migrate)   exec flask --app wsgi db upgrade ;;
  seed-demo) exec flask --app wsgi coord seed-demo ;;
  *)         exec "$@" ;;
esac
