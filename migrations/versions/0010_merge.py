"""Join the areas built side by side on top of 0002 into one line of history.

Revision ID: 0010_merge
Revises: 0003_credit, 0004_cards, 0005_archives, 0006_records, 0007_intake, 0008_governance,
    0009_scale
"""

revision = "0010_merge"
down_revision = (
    "0003_credit",
    "0004_cards",
    "0005_archives",
    "0006_records",
    "0007_intake",
    "0008_governance",
    "0009_scale",
)
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
