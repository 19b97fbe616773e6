"""the spend's statements as PL/pgSQL functions, for connections that prepare nothing

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-30 08:00:00

Behind pgbouncer in transaction pooling mode psycopg prepares nothing
(docs/rules.md, "PostgreSQL behind pgbouncer"), so every statement of the spend's hot
path (store/fast_spend.py) was parsed and planned on each run: about half of a spend's
PostgreSQL CPU. PL/pgSQL caches the plans of a function's statements in the server
backend that runs it, which outlives any client's transaction, so the pooled server
connections keep them. A client then sends only ``SELECT ... FROM inmail_spend_lock(...)``
and ``SELECT inmail_spend_one_lot(...)``, whose own parse and plan are trivial.

The functions hold no rule of the domain: the lock returns the account and every live lot,
and the lot a spend takes from is chosen in Python (domain.credits.draw) and handed back
to ``inmail_spend_one_lot``. PostgreSQL only; SQLite has no server-side functions.
"""

from __future__ import annotations

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

# The same statement as store.fast_spend._PG_LOCK: one UPDATE that is the lock and the
# check, with the key's stored answer and the live lots read beside it. p_cost NULL: the
# account's plan's InMail cost (a send's), read under the lock.
_LOCK = """
CREATE FUNCTION inmail_spend_lock(
    p_member text, p_cost integer, p_now timestamptz, p_scope text, p_key text)
RETURNS TABLE (
    balance bigint, plan_code varchar, plan_version integer, taken integer,
    fingerprint varchar, response text, lot_id bigint, lot_source varchar,
    lot_granted integer, lot_remaining integer, lot_created_at timestamptz,
    lot_expires_at timestamptz)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH account AS (
        UPDATE accounts
           SET balance = accounts.balance - COALESCE(p_cost, (SELECT plans.inmail_cost
               FROM plans WHERE plans.code = accounts.plan_code
                            AND plans.version = accounts.plan_version))
         WHERE accounts.member_id = p_member
           AND accounts.balance >= COALESCE(p_cost, (SELECT plans.inmail_cost
               FROM plans WHERE plans.code = accounts.plan_code
                            AND plans.version = accounts.plan_version))
           AND (accounts.next_due_at IS NULL OR accounts.next_due_at > p_now)
           -- A team seat's send pays from the team's pool: the general path.
           AND NOT EXISTS (SELECT 1 FROM team_seats WHERE team_seats.member_id = p_member)
        RETURNING accounts.balance, accounts.plan_code, accounts.plan_version,
            COALESCE(p_cost, (SELECT plans.inmail_cost FROM plans
                WHERE plans.code = accounts.plan_code
                  AND plans.version = accounts.plan_version)) AS taken)
    SELECT account.balance, account.plan_code, account.plan_version, account.taken,
           (SELECT k.fingerprint FROM idempotency_keys AS k
             WHERE k.scope = p_scope AND k.key = p_key),
           (SELECT k.response FROM idempotency_keys AS k
             WHERE k.scope = p_scope AND k.key = p_key),
           lots.id, lots.source, lots.granted, lots.remaining, lots.created_at,
           lots.expires_at
      FROM account
      LEFT JOIN lots ON lots.member_id = p_member AND lots.remaining > 0;
END
$$
"""

# A spend from the one lot Python chose: take from it (conditionally), record the spend,
# its ledger line and that line's event (its payload gets the line's id where
# p_placeholder stands), and the idempotency key's answer when p_key is given. When the lot
# no longer holds p_n (a concurrent spend took it) it raises, so that a COMMIT sent in the
# same message never runs: the transaction is aborted and the caller rolls back.
_ONE_LOT = """
CREATE FUNCTION inmail_spend_one_lot(
    p_lot bigint, p_n integer, p_spend text, p_member text, p_reference text,
    p_at timestamptz, p_balance_after bigint,
    p_event_id text, p_event_type text, p_event_at timestamptz, p_payload text,
    p_placeholder text, p_with_id text,
    p_key_scope text, p_key text, p_key_fingerprint text, p_key_response text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    entry_id bigint;
BEGIN
    UPDATE lots SET remaining = lots.remaining - p_n
     WHERE lots.id = p_lot AND lots.remaining >= p_n;
    IF NOT FOUND THEN
        -- 40001: a concurrent change; the general path retries under its own lock.
        RAISE EXCEPTION 'the lot no longer holds the credits to spend'
            USING ERRCODE = 'serialization_failure';
    END IF;
    INSERT INTO spends (id, member_id, reference, cost, at, refunded_at)
    VALUES (p_spend, p_member, p_reference, p_n, p_at, NULL);
    INSERT INTO ledger_entries (member_id, lot_id, kind, amount, balance_after, at, reference)
    VALUES (p_member, p_lot, 'spend', -p_n, p_balance_after, p_at, p_reference)
    RETURNING ledger_entries.id INTO entry_id;
    INSERT INTO outbox_events (id, type, member_id, at, payload)
    VALUES (p_event_id, p_event_type, p_member, p_event_at,
            replace(p_payload, p_placeholder, p_with_id || entry_id));
    IF p_key IS NOT NULL THEN
        INSERT INTO idempotency_keys (scope, key, fingerprint, response, created_at)
        VALUES (p_key_scope, p_key, p_key_fingerprint, p_key_response, p_at);
    END IF;
    RETURN entry_id;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute(_LOCK)
    op.execute(_ONE_LOT)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("DROP FUNCTION inmail_spend_one_lot")
    op.execute("DROP FUNCTION inmail_spend_lock")
