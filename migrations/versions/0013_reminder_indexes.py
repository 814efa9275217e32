"""Indexes for queueing reminders at 1,000 groups: what was queued already for one
distribution is read by its reference before any message is written (services/notify.py),
in the outbox and in the log of reminders sent before the outbox existed.

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_outbox_messages_ref_kind", "outbox_messages", ["ref", "kind"])
    op.create_index("ix_notification_log_ref", "notification_log", ["ref"])


def downgrade():
    op.drop_index("ix_notification_log_ref", table_name="notification_log")
    op.drop_index("ix_outbox_messages_ref_kind", table_name="outbox_messages")
