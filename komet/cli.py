"""Flask CLI commands."""
import click

from komet.demo import load_demo_data


def init_app(app):
    @app.cli.command("seed-demo")
    def seed_demo():
        """Load the demo companies, staff, buyers and products (idempotent)."""
        companies = load_demo_data()
        click.echo(f"Demo data ready: {', '.join(c.name for c in companies.values())}")
