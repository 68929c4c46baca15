CREATE TABLE `webhook_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`webhook_id` text NOT NULL,
	`event` text NOT NULL,
	`body` text NOT NULL,
	`state` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`last_error` text,
	`created_at` integer NOT NULL,
	`delivered_at` integer,
	FOREIGN KEY (`webhook_id`) REFERENCES `webhooks`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `webhook_deliveries_due` ON `webhook_deliveries` (`state`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_webhook` ON `webhook_deliveries` (`webhook_id`);--> statement-breakpoint
CREATE TABLE `webhooks` (
	`id` text PRIMARY KEY NOT NULL,
	`url` text NOT NULL,
	`events` text,
	`secret_sealed` text NOT NULL,
	`secret_nonce` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `campaigns` ADD `start_at` integer;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `scheduled_by` text;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `scheduled_by_name` text;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `forced_reason` text;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `mode` text DEFAULT 'install' NOT NULL;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `bandwidth_bytes_per_second` integer;