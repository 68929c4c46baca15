ALTER TABLE `device_queries` ADD `canceled_at` integer;--> statement-breakpoint
ALTER TABLE `device_queries` ADD `canceled_reason` text;--> statement-breakpoint
CREATE INDEX `device_queries_open` ON `device_queries` (`created_at`) WHERE canceled_at IS NULL;