"""groups onboarding: a group's language, member limit and join link; join requests

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 04:58:23.334355

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    # Existing groups keep French, no limit and no join link until a coordinator makes one.
    op.create_table('join_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('first_name', sa.String(length=80), nullable=False),
    sa.Column('last_name', sa.String(length=80), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('phone', sa.String(length=30), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('invitation_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("state IN ('pending', 'waiting', 'invited', 'refused')", name=op.f('ck_join_requests_state_known')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_join_requests_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_join_requests_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitations.id'], name=op.f('fk_join_requests_invitation_id_invitations'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_join_requests'))
    )
    with op.batch_alter_table('join_requests', schema=None) as batch_op:
        batch_op.create_index('ix_join_requests_queue', ['group_id', 'state', 'created_at'], unique=False)

    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=5), server_default='fr', nullable=False))
        batch_op.add_column(sa.Column('max_members', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('join_token', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_groups_join_token'), ['join_token'])

    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_name', sa.String(length=80), server_default='', nullable=False))
        batch_op.add_column(sa.Column('last_name', sa.String(length=80), server_default='', nullable=False))
        batch_op.add_column(sa.Column('phone', sa.String(length=30), server_default='', nullable=False))
        batch_op.alter_column('invited_by_id', existing_type=sa.Integer(), nullable=True)



def downgrade():
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.alter_column('invited_by_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('phone')
        batch_op.drop_column('last_name')
        batch_op.drop_column('first_name')

    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_groups_join_token'), type_='unique')
        batch_op.drop_column('join_token')
        batch_op.drop_column('max_members')
        batch_op.drop_column('locale')

    with op.batch_alter_table('join_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_join_requests_queue')

    op.drop_table('join_requests')
