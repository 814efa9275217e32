"""Pure domain rules: no Flask, no SQLAlchemy. Tested with tables of cases."""
