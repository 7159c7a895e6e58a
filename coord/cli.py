"""``flask coord ...`` commands: seed-demo, create-user, create-token."""

from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import AppGroup
from sqlalchemy import select

from coord.clock import now_utc
from coord.extensions import db
from coord.models import User
from coord.services.accounts import create_user, issue_token
from coord.services.passwords import PROBLEMS, password_problems
from coord.services.policy import SYSTEM
from coord.services.uow import unit_of_work

coord_cli = AppGroup("coord", help="coord administration commands.")


@coord_cli.command("seed-demo")
@click.option("--cases", "case_count", default=300, show_default=True, help="Demo cases to create.")
def seed_demo_command(case_count: int) -> None:
    """Load the Kecamatan Medan Area demo data (idempotent)."""
    from coord.demo import DEMO_PASSWORD_HINT, seed_demo

    summary = seed_demo(case_count=case_count)
    click.echo(summary)
    click.echo(DEMO_PASSWORD_HINT)


@coord_cli.command("create-user")
@click.argument("username")
@click.option("--name", "full_name", required=True)
@click.option("--unit", "unit_code", required=True, help="Unit code, e.g. kel-sukaramai-1")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(["staff", "liaison", "manager", "admin"]),
)
@click.option("--email", default=None)
@click.option("--service", is_flag=True, help="A machine client (token only, no password login).")
@click.password_option(required=False, default=None, prompt=False)
def create_user_command(
    username: str,
    full_name: str,
    unit_code: str,
    roles: tuple[str, ...],
    email: str | None,
    service: bool,
    password: str | None,
) -> None:
    """Create a user of a unit with one or more roles."""
    if not service and not password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if password:
        problems = [PROBLEMS[code] for code in password_problems(password, username)]
        if problems:
            raise click.BadParameter("the password " + "; ".join(problems), param_hint="password")
    with unit_of_work():
        user = create_user(
            SYSTEM,
            username,
            full_name,
            unit_code,
            list(roles),
            now_utc(),
            password=password,
            email=email,
            is_service=service,
        )
    click.echo(
        f"created user {user.username} (id {user.id}) in {unit_code} with roles {', '.join(roles)}"
    )


@coord_cli.command("create-token")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
@click.option("--days", default=None, type=int, help="Lifetime in days (default: no expiry).")
def create_token_command(username: str, name: str, days: int | None) -> None:
    """Create an API token for a user (printed once; only its hash is stored)."""
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise click.ClickException(f"no user '{username}'")
    with unit_of_work():
        token, plain = issue_token(
            user,
            now_utc(),
            name=name,
            lifetime=timedelta(days=days) if days else timedelta(days=36500),
        )
    click.echo(plain)


@coord_cli.command("worker")
@click.option("--queue", "queue_names", multiple=True, help="Queues to listen on (default: all).")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--fork", is_flag=True, help="Fork a work horse per job (slower, more isolated).")
@click.option("--name", default=None, help="Worker name (default: generated).")
def worker_command(queue_names: tuple[str, ...], burst: bool, fork: bool, name: str | None) -> None:
    """Run an RQ worker: one app context per job, no fork per job by default."""
    from flask import current_app

    from workers.runtime import make_worker

    worker = make_worker(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        list(queue_names) or None,
        fork=fork,
        name=name,
    )
    worker.work(burst=burst, with_scheduler=False)


@coord_cli.command("create-open311-key")
@click.argument("name")
def create_open311_key_command(name: str) -> None:
    """Register an Open311 app NAME and print its api_key (once; only its hash is stored)."""
    from coord.services.open311.clients import create_client

    with unit_of_work():
        client, key = create_client(name, now_utc())
    click.echo(
        f"Open311 client '{client.name}' (id {client.id}, key prefix {client.prefix}):", err=True
    )
    click.echo(key)
