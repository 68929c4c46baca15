ALTER TABLE `campaigns` ADD `start_bounds` text;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `start_cursor` text;