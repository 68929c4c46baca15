CREATE TABLE `dm_operations` (
	`id` text PRIMARY KEY NOT NULL,
	`device_id` text NOT NULL,
	`command` text NOT NULL,
	`uri` text NOT NULL,
	`data` text,
	`format` text,
	`type` text,
	`correlator` text,
	`state` text NOT NULL,
	`status_code` integer,
	`result` text,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`sent_at` integer,
	`done_at` integer,
	FOREIGN KEY (`device_id`) REFERENCES `devices`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `dm_operations_device_state` ON `dm_operations` (`device_id`,`state`);--> statement-breakpoint
CREATE TABLE `dm_sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`device_id` text NOT NULL,
	`session_id` text NOT NULL,
	`state` text NOT NULL,
	`client_msg_id` integer NOT NULL,
	`server_msg_id` integer NOT NULL,
	`awaiting` text DEFAULT '[]' NOT NULL,
	`pending` text DEFAULT '[]' NOT NULL,
	`last_reply` text,
	`last_reply_type` text,
	`max_msg_size` integer,
	`authenticated` integer DEFAULT false NOT NULL,
	`server_authenticated` integer DEFAULT false NOT NULL,
	`inventory_checked` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	FOREIGN KEY (`device_id`) REFERENCES `devices`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `dm_sessions_device` ON `dm_sessions` (`device_id`,`session_id`);--> statement-breakpoint
ALTER TABLE `devices` ADD `manufacturer` text;--> statement-breakpoint
ALTER TABLE `devices` ADD `inventory` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `devices` ADD `auth_type` text DEFAULT 'md5' NOT NULL;--> statement-breakpoint
ALTER TABLE `devices` ADD `auth_name` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `devices` ADD `auth_secret_sealed` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `devices` ADD `auth_secret_nonce` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `devices` ADD `client_nonce` text;--> statement-breakpoint
ALTER TABLE `devices` ADD `server_nonce` text;--> statement-breakpoint
ALTER TABLE `devices` ADD `server_secret_sealed` text;--> statement-breakpoint
ALTER TABLE `devices` ADD `server_secret_nonce` text;--> statement-breakpoint
ALTER TABLE `devices` ADD `auth_failures` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `devices` ADD `webhook_url` text;