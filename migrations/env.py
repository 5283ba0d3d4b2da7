"""Alembic environment: runs migrations on the Flask app's engine."""
from alembic import context
from flask import current_app

import showbiz.models  # noqa: F401  (registers the tables)
from showbiz.db import db
from showbiz.migrate import include_name

config = context.config


def run_migrations_online() -> None:
    """Run migrations in a transaction on the app's engine."""
    with db.engine.connect() as connection:
        context.configure(connection=connection, target_metadata=db.metadata,
                          render_as_batch=connection.dialect.name == "sqlite",
                          compare_type=True, include_name=include_name)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if current_app:
    run_migrations_online()
