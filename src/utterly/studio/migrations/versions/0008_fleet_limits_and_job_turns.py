"""a per-bot limit on concurrent provider calls; a job's turn for the task queue

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL: the provider's default concurrency, as before this column existed
    with op.batch_alter_table('sentence_generation_settings') as batch:
        batch.add_column(sa.Column('max_concurrency', sa.Integer(), nullable=True))
    with op.batch_alter_table('generation_jobs') as batch:
        batch.add_column(sa.Column('turn', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('generation_jobs') as batch:
        batch.drop_column('turn')
    with op.batch_alter_table('sentence_generation_settings') as batch:
        batch.drop_column('max_concurrency')
