import sys

import click
from flask.cli import AppGroup

from ..cli import domain_command
from ..roles import Role
from .services import create_user

users_cli = AppGroup("users", help="Manage accounts.")


@users_cli.command("create")
@click.option("--email", required=True, help="Sign-in email.")
@click.option("--name", "display_name", required=True, help="Display name.")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.MEMBER.value, show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from one line of standard input.")
@domain_command
def create_command(email: str, display_name: str, role: str, password_stdin: bool) -> None:
    """Create an account (the first admin is made this way; there is no default password).

    Its email address counts as confirmed: the operator vouches for it.
    """
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    user = create_user(email, display_name, password, Role(role), confirmed=True)
    click.echo(f"Created {user.role} {user.email} (id {user.id}).")
