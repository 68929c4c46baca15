-- Data fix before the unique index: a device with several deployments under way (two
-- requests or two server processes raced before the database held the rule) keeps the one
-- furthest along (installing, downloading, commanded, scheduled, pending), the newest of
-- those; the others are canceled, with a history entry naming the one kept.
UPDATE "deployments" SET
  "state" = 'canceled',
  "updated_at" = (extract(epoch from now()) * 1000)::bigint,
  "history" = (CASE WHEN "history" = '[]' THEN '[' ELSE substr("history", 1, length("history") - 1) || ',' END)
    || '{"at":"' || to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '","state":"canceled","cause":"another deployment of this device was under way (' ||
    (SELECT k."id" FROM "deployments" k WHERE k."device_id" = "deployments"."device_id" AND k."state" NOT IN ('succeeded', 'failed', 'canceled')
      ORDER BY CASE k."state" WHEN 'installing' THEN 0 WHEN 'downloading' THEN 1 WHEN 'commanded' THEN 2 WHEN 'scheduled' THEN 3 ELSE 4 END, k."created_at" DESC, k."id" DESC LIMIT 1)
    || '); a device has one at a time"}]'
WHERE "state" NOT IN ('succeeded', 'failed', 'canceled')
  AND "id" <> (SELECT k."id" FROM "deployments" k WHERE k."device_id" = "deployments"."device_id" AND k."state" NOT IN ('succeeded', 'failed', 'canceled')
      ORDER BY CASE k."state" WHEN 'installing' THEN 0 WHEN 'downloading' THEN 1 WHEN 'commanded' THEN 2 WHEN 'scheduled' THEN 3 ELSE 4 END, k."created_at" DESC, k."id" DESC LIMIT 1);
--> statement-breakpoint
CREATE UNIQUE INDEX "deployments_one_active_per_device" ON "deployments" USING btree ("device_id") WHERE state NOT IN ('succeeded', 'failed', 'canceled');
