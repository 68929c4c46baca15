-- Data fix before the unique index: a component of a device with several SCOMO operations
-- open (two requests or two server processes raced before the database held the rule) keeps
-- the one furthest along (commanded, then scheduled), the newest of those; the others are
-- canceled, with a history entry naming the one kept.
UPDATE "scomo_deployments" SET
  "state" = 'canceled',
  "updated_at" = (extract(epoch from now()) * 1000)::bigint,
  "history" = (CASE WHEN "history" = '[]' THEN '[' ELSE substr("history", 1, length("history") - 1) || ',' END)
    || '{"at":"' || to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '","state":"canceled","cause":"another SCOMO operation on this component was open (' ||
    (SELECT k."id" FROM "scomo_deployments" k WHERE k."device_id" = "scomo_deployments"."device_id" AND k."component" = "scomo_deployments"."component" AND k."state" IN ('scheduled', 'commanded')
      ORDER BY CASE k."state" WHEN 'commanded' THEN 0 ELSE 1 END, k."created_at" DESC, k."id" DESC LIMIT 1)
    || '); a component has one at a time"}]'
WHERE "state" IN ('scheduled', 'commanded')
  AND "id" <> (SELECT k."id" FROM "scomo_deployments" k WHERE k."device_id" = "scomo_deployments"."device_id" AND k."component" = "scomo_deployments"."component" AND k."state" IN ('scheduled', 'commanded')
      ORDER BY CASE k."state" WHEN 'commanded' THEN 0 ELSE 1 END, k."created_at" DESC, k."id" DESC LIMIT 1);
--> statement-breakpoint
CREATE UNIQUE INDEX "scomo_deployments_one_open" ON "scomo_deployments" USING btree ("device_id","component") WHERE state IN ('scheduled', 'commanded');