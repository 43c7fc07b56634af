import sys

import click
from flask.cli import AppGroup

from .models import Role
from .services import MIN_PASSWORD_LENGTH, AccountError, create_user, email_taken

users_cli = AppGroup("users", help="Manage accounts.")


@users_cli.command("create")
@click.option("--email", required=True, help="Sign-in email.")
@click.option("--name", "display_name", required=True, help="Display name.")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.MEMBER.value, show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from one line of standard input.")
def create_command(email: str, display_name: str, role: str, password_stdin: bool) -> None:
    """Create an account (the first admin is made this way; there is no default password)."""
    if "@" not in email or len(email) > 254:
        raise click.UsageError(f"not an email address: {email!r}")
    if not 2 <= len(display_name.strip()) <= 60:
        raise click.UsageError("the name must be 2 to 60 characters long")
    if email_taken(email):
        raise click.ClickException(f"an account with the email {email.strip().lower()} already exists")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.UsageError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    try:
        user = create_user(email, display_name, password, Role(role))
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Created {user.role} {user.email} (id {user.id}).")
