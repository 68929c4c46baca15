CREATE TABLE `campaign_stages` (
	`campaign_id` text NOT NULL,
	`idx` integer NOT NULL,
	`percent` real NOT NULL,
	`requires_approval` integer DEFAULT false NOT NULL,
	`state` text DEFAULT 'pending' NOT NULL,
	`size` integer DEFAULT 0 NOT NULL,
	`started_at` integer,
	`threshold_met_at` integer,
	`approved_by` text,
	`approved_by_name` text,
	`approved_at` integer,
	`accepted_failed` integer DEFAULT 0 NOT NULL,
	`accepted_results` integer DEFAULT 0 NOT NULL,
	`forced` integer DEFAULT false NOT NULL,
	PRIMARY KEY(`campaign_id`, `idx`),
	FOREIGN KEY (`campaign_id`) REFERENCES `campaigns`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `campaigns` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`build_id` text NOT NULL,
	`model` text NOT NULL,
	`cohort` text NOT NULL,
	`state` text NOT NULL,
	`current_stage` integer DEFAULT 0 NOT NULL,
	`success_threshold` real NOT NULL,
	`failure_threshold` real NOT NULL,
	`min_sample` integer NOT NULL,
	`soak_ms` integer DEFAULT 0 NOT NULL,
	`timeout_ms` integer NOT NULL,
	`four_eyes` integer DEFAULT false NOT NULL,
	`dynamic` integer DEFAULT false NOT NULL,
	`window` text,
	`paused_reason` text,
	`pause_kind` text,
	`cohort_size` integer DEFAULT 0 NOT NULL,
	`already_current` integer DEFAULT 0 NOT NULL,
	`busy` integer DEFAULT 0 NOT NULL,
	`created_by` text NOT NULL,
	`created_by_name` text NOT NULL,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	`updated_at` integer NOT NULL,
	`join_scan_at` integer,
	FOREIGN KEY (`build_id`) REFERENCES `builds`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `campaigns_state` ON `campaigns` (`state`);--> statement-breakpoint
CREATE TABLE `notification_queue` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`device_id` text NOT NULL,
	`campaign_id` text NOT NULL,
	`enqueued_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `deployments` ADD `not_before` integer;--> statement-breakpoint
ALTER TABLE `deployments` ADD `campaign_id` text;--> statement-breakpoint
ALTER TABLE `deployments` ADD `stage` integer;--> statement-breakpoint
CREATE INDEX `deployments_campaign_stage_state` ON `deployments` (`campaign_id`,`stage`,`state`);