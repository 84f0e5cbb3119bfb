"""intent models stored as arrays, never pickles: the pickled ones are dropped

Revision ID: 0004
Revises: 0003
"""
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Loading a pickle runs whatever it says; the models before this one were pickles.
    # Training again takes seconds and stores the new format.
    op.execute("DELETE FROM nlu_models")


def downgrade() -> None:
    pass
