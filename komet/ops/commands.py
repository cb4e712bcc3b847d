"""`flask operator create EMAIL`: the only way to make a platform operator."""
import click
from flask.cli import AppGroup

from komet.ops import operators

operator_cli = AppGroup("operator", help="Platform operators (the /operator page).")


@operator_cli.command("create")
@click.argument("email")
@click.option("--name", help="Their name (new users only).")
@click.option("--password", help="A new user's password (default: a random one, shown once).")
def create(email, name, password):
    """Make EMAIL an operator, creating the user with a random password if needed."""
    user, password = operators.create_operator(email, name=name, password=password)
    click.echo(f"{user.email} is an operator.")
    if password:
        click.echo(f"Password (shown once): {password}")


def init_app(app):
    app.cli.add_command(operator_cli)
