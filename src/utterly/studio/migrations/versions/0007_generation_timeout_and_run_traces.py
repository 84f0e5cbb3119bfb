"""a per-bot generation time limit; each run keeps its own trace

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL: the provider's default limit, as before this column existed
    with op.batch_alter_table('sentence_generation_settings') as batch:
        batch.add_column(sa.Column('timeout_s', sa.Float(), nullable=True))
    # NULL for the runs stored before: they kept no trace
    with op.batch_alter_table('generation_runs') as batch:
        batch.add_column(sa.Column('trace', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('generation_runs') as batch:
        batch.drop_column('trace')
    with op.batch_alter_table('sentence_generation_settings') as batch:
        batch.drop_column('timeout_s')
