"""which turn of a job was given out, and when: fair turns across namespaces

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL for the jobs before: none of their turns was given out under this rule, so the
    # next sweep gives each its turn as if it had just been created
    with op.batch_alter_table('generation_jobs') as batch:
        batch.add_column(sa.Column('sent_turn', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('generation_jobs') as batch:
        batch.drop_column('sent_at')
        batch.drop_column('sent_turn')
