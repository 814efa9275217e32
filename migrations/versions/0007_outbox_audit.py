"""message outbox, audit trail (append-only), forms submitted once

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 05:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

PG = """
CREATE FUNCTION audit_entries_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_entries is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_entries_no_update BEFORE UPDATE OR DELETE ON audit_entries
  FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only();
"""


def upgrade():
    op.create_table(
        'outbox_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dedupe_key', sa.String(length=200), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('email', sa.String(length=254), nullable=True),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('ref', sa.String(length=120), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('claimed_at', sa.DateTime(), nullable=True),
        sa.Column('claimed_by', sa.String(length=80), nullable=True),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.Column('delivered_via', sa.String(length=10), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("state IN ('queued', 'sending', 'sent', 'failed', 'muted')", name=op.f('ck_outbox_messages_state_known')),
        sa.CheckConstraint("channel IN ('auto', 'email', 'push')", name=op.f('ck_outbox_messages_channel_known')),
        sa.CheckConstraint('user_id IS NOT NULL OR email IS NOT NULL', name=op.f('ck_outbox_messages_has_recipient')),
        sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_outbox_messages_group_id_groups'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_outbox_messages_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_messages')),
        sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbox_messages_dedupe_key')),
    )
    op.create_index('ix_outbox_messages_due', 'outbox_messages', ['state', 'next_attempt_at'], unique=False)
    op.create_index(op.f('ix_outbox_messages_user_id'), 'outbox_messages', ['user_id'], unique=False)

    op.create_table(
        'audit_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('distribution_id', sa.Integer(), nullable=True),
        sa.Column('member_id', sa.Integer(), nullable=True),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('target', sa.String(length=200), nullable=False),
        sa.Column('before', sa.JSON(), nullable=True),
        sa.Column('after', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_entries_actor_id_users')),
        sa.ForeignKeyConstraint(['distribution_id'], ['distributions.id'], name=op.f('fk_audit_entries_distribution_id_distributions'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_audit_entries_group_id_groups'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['member_id'], ['users.id'], name=op.f('fk_audit_entries_member_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entries')),
    )
    op.create_index(op.f('ix_audit_entries_distribution_id'), 'audit_entries', ['distribution_id'], unique=False)
    op.create_index(op.f('ix_audit_entries_group_id'), 'audit_entries', ['group_id'], unique=False)
    op.create_index(op.f('ix_audit_entries_member_id'), 'audit_entries', ['member_id'], unique=False)

    op.create_table(
        'form_submissions',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('endpoint', sa.String(length=80), nullable=False),
        sa.Column('result_url', sa.String(length=500), nullable=False),
        sa.Column('message', sa.String(length=500), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_form_submissions_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_form_submissions')),
    )

    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG)
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_entries_no_{action.lower()} BEFORE {action} ON audit_entries "
                "BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only'); END"
            )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_update ON audit_entries")
        op.execute("DROP FUNCTION IF EXISTS audit_entries_append_only()")
    op.drop_table('form_submissions')
    op.drop_index(op.f('ix_audit_entries_member_id'), table_name='audit_entries')
    op.drop_index(op.f('ix_audit_entries_group_id'), table_name='audit_entries')
    op.drop_index(op.f('ix_audit_entries_distribution_id'), table_name='audit_entries')
    op.drop_table('audit_entries')
    op.drop_index(op.f('ix_outbox_messages_user_id'), table_name='outbox_messages')
    op.drop_index('ix_outbox_messages_due', table_name='outbox_messages')
    op.drop_table('outbox_messages')
