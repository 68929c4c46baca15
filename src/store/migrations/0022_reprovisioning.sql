ALTER TABLE `profile_applications` ADD `failure_reason` text;--> statement-breakpoint
ALTER TABLE `profile_applications` ADD `attempts` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `enrollment_devices` ADD `pending_subscriber_identity` text;