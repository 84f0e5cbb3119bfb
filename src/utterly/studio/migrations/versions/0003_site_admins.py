"""site administrators: who creates namespaces and accounts

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nobody is made a site admin here: `utterly users site-admin NAME` says who is.
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('is_site_admin', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_column('is_site_admin')
