-- Data fix before the unique index: a device with several deployments under way (two
-- requests or two server processes raced before the database held the rule) keeps the one
-- furthest along (installing, downloading, commanded, scheduled, pending), the newest of
-- those; the others are canceled, with a history entry naming the one kept.
UPDATE `deployments` SET
  `state` = 'canceled',
  `updated_at` = CAST(strftime('%s', 'now') AS INTEGER) * 1000,
  `history` = (CASE WHEN `history` = '[]' THEN '[' ELSE substr(`history`, 1, length(`history`) - 1) || ',' END)
    || '{"at":"' || strftime('%Y-%m-%dT%H:%M:%fZ', 'now') || '","state":"canceled","cause":"another deployment of this device was under way (' ||
    (SELECT k.`id` FROM `deployments` k WHERE k.`device_id` = `deployments`.`device_id` AND k.`state` NOT IN ('succeeded', 'failed', 'canceled')
      ORDER BY CASE k.`state` WHEN 'installing' THEN 0 WHEN 'downloading' THEN 1 WHEN 'commanded' THEN 2 WHEN 'scheduled' THEN 3 ELSE 4 END, k.`created_at` DESC, k.`id` DESC LIMIT 1)
    || '); a device has one at a time"}]'
WHERE `state` NOT IN ('succeeded', 'failed', 'canceled')
  AND `id` <> (SELECT k.`id` FROM `deployments` k WHERE k.`device_id` = `deployments`.`device_id` AND k.`state` NOT IN ('succeeded', 'failed', 'canceled')
      ORDER BY CASE k.`state` WHEN 'installing' THEN 0 WHEN 'downloading' THEN 1 WHEN 'commanded' THEN 2 WHEN 'scheduled' THEN 3 ELSE 4 END, k.`created_at` DESC, k.`id` DESC LIMIT 1);
--> statement-breakpoint
CREATE UNIQUE INDEX `deployments_one_active_per_device` ON `deployments` (`device_id`) WHERE state NOT IN ('succeeded', 'failed', 'canceled');
