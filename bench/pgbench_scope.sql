-- The minimal same-scope transaction (issue 14): lock the scope row, insert two journal
-- entries, update a counter. Run by bench/load.py with -D landlord=<id> on a bench database
-- (the journal's triggers fire for these rows as for the service's).
BEGIN;
SELECT version FROM allocation_scopes
    WHERE landlord_id = :landlord AND departement_code = '31' FOR UPDATE;
INSERT INTO journal_entries (kind, effective_date, recorded_at, landlord_id, departement_code,
                             period, payload)
    VALUES ('pgbench', '2026-07-01', now(), :landlord, '31', 2026, '{"n": 1}');
INSERT INTO journal_entries (kind, effective_date, recorded_at, landlord_id, departement_code,
                             period, payload)
    VALUES ('pgbench', '2026-07-01', now(), :landlord, '31', 2026, '{"n": 2}');
UPDATE allocation_scopes SET version = version + 1
    WHERE landlord_id = :landlord AND departement_code = '31';
END;
