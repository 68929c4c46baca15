CREATE TABLE `enrollment_batches` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`model` text NOT NULL,
	`size` integer NOT NULL,
	`server_id` text NOT NULL,
	`server_address` text NOT NULL,
	`auth_type` text NOT NULL,
	`claim_name` text,
	`claim_secret_sealed` text,
	`claim_secret_nonce` text,
	`claim_server_secret_sealed` text,
	`claim_server_secret_nonce` text,
	`subscriber_node` text,
	`created_by` text NOT NULL,
	`created_by_name` text NOT NULL,
	`created_at` integer NOT NULL,
	`exported_at` integer,
	`exported_by` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `enrollment_batches_claim` ON `enrollment_batches` (`claim_name`);--> statement-breakpoint
CREATE INDEX `enrollment_batches_model` ON `enrollment_batches` (`model`);--> statement-breakpoint
CREATE TABLE `enrollment_devices` (
	`device_id` text PRIMARY KEY NOT NULL,
	`batch_id` text NOT NULL,
	`state` text NOT NULL,
	`pending_secret_sealed` text,
	`pending_secret_nonce` text,
	`pending_server_secret_sealed` text,
	`pending_server_secret_nonce` text,
	`subscriber_identity` text,
	`enrolled_at` integer,
	`rotations` integer DEFAULT 0 NOT NULL,
	FOREIGN KEY (`device_id`) REFERENCES `devices`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`batch_id`) REFERENCES `enrollment_batches`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `enrollment_devices_batch` ON `enrollment_devices` (`batch_id`,`device_id`);