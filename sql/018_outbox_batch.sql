-- 018_outbox_batch: workers claim due jobs in batches by kind (lib/infra/outbox.c,
-- outbox_claim_batch): "status = 'pending' AND kind = ? AND available_at <= NOW(3) ORDER BY
-- available_at, id LIMIT n" reads, in order, only the rows it takes from this index.
ALTER TABLE outbox ADD KEY IF NOT EXISTS ix_outbox_due (status, kind, available_at);
