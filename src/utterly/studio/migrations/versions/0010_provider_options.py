"""a provider's own settings in one JSON column, as its registry entry declares them

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# The columns of the one provider that had settings of its own (Azure OpenAI), as they were
# when this revision was written: later providers put theirs in provider_options only.
_OLD = (('azure_endpoint', 500), ('azure_deployment', 200), ('api_version', 50))


def _settings(*columns):
    return sa.table('sentence_generation_settings', sa.column('bot_id', sa.Integer()),
                    *columns)


def upgrade() -> None:
    with op.batch_alter_table('sentence_generation_settings') as batch:
        batch.add_column(sa.Column('provider_options', sa.JSON(), nullable=True))
    table = _settings(sa.column('provider_options', sa.JSON()),
                      *(sa.column(name, sa.String(size)) for name, size in _OLD))
    conn = op.get_bind()
    for row in conn.execute(sa.select(table)).mappings().all():
        options = {name: row[name] for name, _ in _OLD if row[name] is not None}
        if options:
            conn.execute(table.update().where(table.c.bot_id == row['bot_id'])
                         .values(provider_options=options))
    with op.batch_alter_table('sentence_generation_settings') as batch:
        for name, _ in reversed(_OLD):
            batch.drop_column(name)


def downgrade() -> None:
    # The options of providers that came after this revision have no column to go back to.
    with op.batch_alter_table('sentence_generation_settings') as batch:
        for name, size in _OLD:
            batch.add_column(sa.Column(name, sa.String(size), nullable=True))
    table = _settings(sa.column('provider_options', sa.JSON()),
                      *(sa.column(name, sa.String(size)) for name, size in _OLD))
    conn = op.get_bind()
    for row in conn.execute(sa.select(table)).mappings().all():
        options = row['provider_options'] or {}
        values = {name: options.get(name) for name, _ in _OLD if options.get(name) is not None}
        if values:
            conn.execute(table.update().where(table.c.bot_id == row['bot_id']).values(**values))
    with op.batch_alter_table('sentence_generation_settings') as batch:
        batch.drop_column('provider_options')
