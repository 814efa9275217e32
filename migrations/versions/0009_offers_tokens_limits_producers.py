"""each distribution's own offer; producers editing their catalogues and invited to an
account; a session version per user; one-time tokens (reset, sign-in link); rate-limit hits

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 05:11:56.357712

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rate_limit_hits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rate_limit_hits'))
    )
    with op.batch_alter_table('rate_limit_hits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rate_limit_hits_at'), ['at'], unique=False)
        batch_op.create_index('ix_rate_limit_hits_scope_key_at', ['scope', 'key', 'at'], unique=False)

    op.create_table('user_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("purpose IN ('reset', 'signin')", name=op.f('ck_user_tokens_purpose_known')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_user_tokens_token_hash'))
    )
    with op.batch_alter_table('user_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('distribution_offers',
    sa.Column('distribution_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('stock', sa.Numeric(precision=10, scale=3), nullable=True),
    sa.CheckConstraint('stock IS NULL OR stock >= 0', name=op.f('ck_distribution_offers_stock_not_negative')),
    sa.ForeignKeyConstraint(['distribution_id'], ['distributions.id'], name=op.f('fk_distribution_offers_distribution_id_distributions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_distribution_offers_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('distribution_id', 'product_id', name=op.f('pk_distribution_offers'))
    )
    with op.batch_alter_table('distribution_offers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_distribution_offers_product_id'), ['product_id'], unique=False)

    with op.batch_alter_table('catalogues', schema=None) as batch_op:
        batch_op.add_column(sa.Column('producer_can_edit', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('producer_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_invitations_producer_id_producers'), 'producers', ['producer_id'], ['id'], ondelete='CASCADE')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))



def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_version')

    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_invitations_producer_id_producers'), type_='foreignkey')
        batch_op.drop_column('producer_id')

    with op.batch_alter_table('catalogues', schema=None) as batch_op:
        batch_op.drop_column('producer_can_edit')

    with op.batch_alter_table('distribution_offers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_distribution_offers_product_id'))

    op.drop_table('distribution_offers')
    with op.batch_alter_table('user_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_tokens_user_id'))

    op.drop_table('user_tokens')
    with op.batch_alter_table('rate_limit_hits', schema=None) as batch_op:
        batch_op.drop_index('ix_rate_limit_hits_scope_key_at')
        batch_op.drop_index(batch_op.f('ix_rate_limit_hits_at'))

    op.drop_table('rate_limit_hits')
