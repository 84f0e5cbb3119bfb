"""Alembic environment: the engine comes from the caller (utterly.studio.db.migrate)."""

from alembic import context
from sqlalchemy import DateTime

from utterly.studio.models import Base


def _render_item(type_, obj, autogen_context):
    # Migrations must not import application types: UTCDateTime is a DateTime in SQL.
    if type_ == "type" and getattr(obj, "impl", None) is not None and isinstance(obj.impl, DateTime):
        return "sa.DateTime(timezone=True)"
    return False


config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=True, compare_type=True, render_item=_render_item)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
