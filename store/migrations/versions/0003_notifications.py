"""Notification rules and the delivery log that makes delivery idempotent.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE notification_rules (
            rule_id                       text PRIMARY KEY,
            game_id                       text REFERENCES games (game_id) ON DELETE CASCADE,
            event_type                    text NOT NULL,
            channel                       text NOT NULL CHECK (channel IN ('email', 'webhook', 'push', 'sms')),
            template                      text NOT NULL,
            target                        text NOT NULL,
            min_revenue_usd               numeric(18, 6) CHECK (min_revenue_usd >= 0),
            lifetime_spend_threshold_usd  numeric(18, 6) CHECK (lifetime_spend_threshold_usd > 0),
            enabled                       boolean NOT NULL DEFAULT true,
            created_at                    timestamptz NOT NULL DEFAULT now(),
            updated_at                    timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("COMMENT ON COLUMN notification_rules.game_id IS 'null = the rule applies to every game'")
    op.execute(
        "COMMENT ON COLUMN notification_rules.target IS "
        "'email address, URL or provider recipient; a template ($player_id, ...) rendered per event'"
    )
    op.execute(
        "COMMENT ON COLUMN notification_rules.lifetime_spend_threshold_usd IS "
        "'fires once, on the event taking player_lifetime_revenue_usd from below it to at least it'"
    )
    op.execute("CREATE INDEX notification_rules_enabled ON notification_rules (event_type) WHERE enabled")
    op.execute(
        """
        CREATE TABLE notification_deliveries (
            notification_id  uuid PRIMARY KEY,
            channel          text NOT NULL,
            rule_id          text NOT NULL,
            game_id          text NOT NULL,
            player_id        text NOT NULL,
            source_event_id  text,
            status           text NOT NULL CHECK (status IN ('delivered', 'failed')),
            attempts         integer NOT NULL CHECK (attempts >= 0),
            last_error       text,
            delivered_at     timestamptz,
            updated_at       timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        "COMMENT ON TABLE notification_deliveries IS "
        "'one row per notification id: a delivered notification is never sent again; failed ones are in system.dlq'"
    )
    op.execute("CREATE INDEX notification_deliveries_player ON notification_deliveries (game_id, player_id)")


def downgrade() -> None:
    op.execute("DROP TABLE notification_deliveries")
    op.execute("DROP TABLE notification_rules")
