"""gdpr_requests: leases with expiry and resumable steps.

A request being run is held by a lease (``lease_token`` of the job holding it, ``lease_until``): a
job killed while running leaves the request ``running`` with a lease that expires, and the next
job takes it over. The job renews the lease after every store it finishes and records the store in
``steps_done`` with its counts in ``step_counts``, so a request taken over resumes at the first
store not done (and its receipt still lists every store's counts).

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-06
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE gdpr_requests ADD COLUMN lease_token uuid, ADD COLUMN lease_until timestamptz,"
        " ADD COLUMN steps_done text[] NOT NULL DEFAULT '{}', ADD COLUMN step_counts jsonb NOT NULL DEFAULT '{}'"
    )
    op.execute("COMMENT ON COLUMN gdpr_requests.lease_until IS "
               "'a running request whose lease expired was left by a killed job: the next job takes it over'")
    op.execute("DROP INDEX gdpr_requests_open")
    op.execute("CREATE INDEX gdpr_requests_open ON gdpr_requests (requested_at) WHERE status IN ('pending', 'failed',"
               " 'running')")


def downgrade() -> None:
    op.execute("DROP INDEX gdpr_requests_open")
    op.execute("CREATE INDEX gdpr_requests_open ON gdpr_requests (requested_at) WHERE status IN ('pending', 'failed')")
    op.execute("ALTER TABLE gdpr_requests DROP COLUMN lease_token, DROP COLUMN lease_until, DROP COLUMN steps_done,"
               " DROP COLUMN step_counts")
