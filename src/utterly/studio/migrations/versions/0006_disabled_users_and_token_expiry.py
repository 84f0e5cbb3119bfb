"""disabled users; every API token expires

Revision ID: 0006
Revises: 0005
"""
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# the default lifetime of an API token (StudioConfig.api_token_days)
DEFAULT_DAYS = 90


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('disabled', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    # Tokens made to last forever get the default lifetime, counted from now.
    tokens = sa.table('tokens', sa.column('expires_at', sa.DateTime(timezone=True)),
                      sa.column('kind', sa.String))
    op.execute(tokens.update().where(tokens.c.expires_at.is_(None))
               .values(expires_at=datetime.now(UTC) + timedelta(days=DEFAULT_DAYS)))


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_column('disabled')
