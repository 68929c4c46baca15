-- Data migration (hand-written: drizzle-kit cannot derive data). Every token made before
-- people existed becomes its own person, so nothing that worked stops working and no two
-- tokens are taken for one person by accident. The person is named after the token; a
-- name several tokens share gets the token id appended to keep logins unique. Campaigns,
-- approvals, deployments, queued operations and audit events that named a token now name
-- its person (four eyes compares people); the audit keeps which token it was.
-- Plain SQL both SQLite and PostgreSQL run.
INSERT INTO people (id, login, display_name, created_at)
SELECT 'psn_' || substr(t.id, 5),
       CASE WHEN (SELECT count(*) FROM tokens d WHERE d.name = t.name) = 1 THEN t.name ELSE t.name || ' (' || t.id || ')' END,
       t.name,
       t.created_at
FROM tokens t
WHERE t.person_id IS NULL;
--> statement-breakpoint
UPDATE tokens SET person_id = 'psn_' || substr(id, 5) WHERE person_id IS NULL;
--> statement-breakpoint
UPDATE audit_events
SET token_id = actor,
    actor_name = (SELECT t.name FROM tokens t WHERE t.id = audit_events.actor),
    actor = 'psn_' || substr(actor, 5)
WHERE actor IN (SELECT id FROM tokens);
--> statement-breakpoint
UPDATE campaigns SET created_by = 'psn_' || substr(created_by, 5) WHERE created_by IN (SELECT id FROM tokens);
--> statement-breakpoint
UPDATE campaign_stages SET approved_by = 'psn_' || substr(approved_by, 5) WHERE approved_by IN (SELECT id FROM tokens);
--> statement-breakpoint
UPDATE deployments SET created_by = 'psn_' || substr(created_by, 5) WHERE created_by IN (SELECT id FROM tokens);
--> statement-breakpoint
UPDATE dm_operations SET created_by = 'psn_' || substr(created_by, 5) WHERE created_by IN (SELECT id FROM tokens);
