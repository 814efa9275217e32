"""sheet events are append-only, like the ledger

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 17:00:00

"""
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

PG = """
CREATE FUNCTION sheet_events_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'sheet_events is append-only: what a volunteer recorded is never changed';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER sheet_events_no_update BEFORE UPDATE OR DELETE ON sheet_events
  FOR EACH ROW EXECUTE FUNCTION sheet_events_append_only();
"""


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG)
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER sheet_events_no_{action.lower()} BEFORE {action} ON sheet_events "
            "BEGIN SELECT RAISE(ABORT, 'sheet_events is append-only'); END"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS sheet_events_no_update ON sheet_events")
        op.execute("DROP FUNCTION IF EXISTS sheet_events_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS sheet_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS sheet_events_no_delete")
