"""A contact address for producers without an account: their purchase order is e-mailed
there when a distribution's orders close (services/notify.py); an account, once the
producer has one, wins.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("producers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))


def downgrade():
    with op.batch_alter_table("producers", schema=None) as batch_op:
        batch_op.drop_column("email")
