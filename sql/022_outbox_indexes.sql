-- 022_outbox_indexes: the outbox keeps one secondary index, ix_outbox_due (status, kind,
-- available_at, sql/018). Every job changes status three times (queued, claimed, done), and
-- each change rewrites the job's entry in every index that holds status: the two older ones
-- doubled that work on the hottest table for queries ix_outbox_due serves as well:
--   ix_outbox_pending (status, available_at): the admin console's stuck list and the janitor's
--     bury read the pending rows, which ix_outbox_due's status prefix finds (a backlog's worth);
--   ix_outbox_claimed (status, claimed_until): the janitor's reap reads the claimed rows (a few
--     batches) by the same prefix; a batch's completion joins its ids on the primary key.
ALTER TABLE outbox DROP KEY IF EXISTS ix_outbox_pending, DROP KEY IF EXISTS ix_outbox_claimed;
