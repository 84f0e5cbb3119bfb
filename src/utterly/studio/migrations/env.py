"""Alembic environment: the engine comes from the caller (utterly.studio.db.migrate)."""

from alembic import context

from utterly.studio.models import Base

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
