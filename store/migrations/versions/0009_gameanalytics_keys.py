"""games: a GameAnalytics-format key pair per game (issue 23).

``ga_game_key`` (32 characters, unique: it names the game in the collector path) and
``ga_secret_sealed`` (the 40-character secret, encrypted by store/secret_box.py: the ingest needs
the secret itself to check each request's HMAC). Both NULL until issued (`gamemetrics games create`
issues them; `gamemetrics games gameanalytics-keys GAME_ID` for a game made before).

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-06
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE games ADD COLUMN ga_game_key text UNIQUE, ADD COLUMN ga_secret_sealed bytea")


def downgrade() -> None:
    op.execute("ALTER TABLE games DROP COLUMN ga_game_key, DROP COLUMN ga_secret_sealed")
