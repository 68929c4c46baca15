ALTER TABLE `campaigns` ADD `start_at` integer;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `scheduled_by` text;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `scheduled_by_name` text;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `forced_reason` text;