"""The schema comes from the migrations, matches the models, and SQLite takes concurrent writes."""
import threading

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from showbiz.db import db, transaction
from showbiz.migrate import include_name, upgrade
from showbiz.models import Person


def test_migrations_produce_exactly_the_models_schema(app):
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                         "include_name": include_name})
        assert compare_metadata(context, db.metadata) == []


def test_init_is_idempotent(app):
    with app.app_context():
        upgrade()
        upgrade()
        version = db.session.execute(db.text("SELECT version_num FROM alembic_version")).scalar()
    assert version is not None


def test_sqlite_runs_with_wal_foreign_keys_and_busy_timeout(make_app, app_config, tmp_path):
    # Always on SQLite, even when the suite runs on PostgreSQL: these are SQLite's settings.
    app = make_app({**app_config, "DATABASE_URL": f"sqlite:///{tmp_path / 'own.sqlite'}"})
    with app.app_context():
        pragma = lambda name: db.session.execute(db.text(f"PRAGMA {name}")).scalar()  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") >= 5000


def test_many_threads_writing_at_once_all_succeed(app):
    threads, writes = 8, 15
    errors: list[BaseException] = []

    def work(n: int) -> None:
        with app.app_context():
            try:
                for i in range(writes):
                    with transaction():
                        # Read then write in one transaction: the pattern that deadlocks
                        # SQLite unless the write lock is taken up front.
                        count = db.session.scalar(select(func.count()).select_from(Person))
                        db.session.add(Person(name=f"P {n}-{i}", slug=f"p-{n}-{i}",
                                              bio=str(count)))
            except BaseException as error:  # noqa: BLE001 - collected and asserted below
                errors.append(error)
            finally:
                db.session.remove()

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Person)) == threads * writes
