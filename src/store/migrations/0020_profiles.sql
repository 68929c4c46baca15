CREATE TABLE `device_configuration` (
	`device_id` text NOT NULL,
	`uri` text NOT NULL,
	`value` text NOT NULL,
	`profile_version_id` text NOT NULL,
	`reported_at` integer NOT NULL,
	PRIMARY KEY(`device_id`, `uri`)
);
--> statement-breakpoint
CREATE TABLE `profile_applications` (
	`id` text PRIMARY KEY NOT NULL,
	`device_id` text NOT NULL,
	`profile_version_id` text NOT NULL,
	`reason` text NOT NULL,
	`state` text NOT NULL,
	`deployment_id` text,
	`operation_ids` text NOT NULL,
	`statuses` text,
	`failure_code` integer,
	`drift` text,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`done_at` integer
);
--> statement-breakpoint
CREATE INDEX `profile_applications_device` ON `profile_applications` (`device_id`,`state`);--> statement-breakpoint
CREATE INDEX `profile_applications_version` ON `profile_applications` (`profile_version_id`,`state`);--> statement-breakpoint
CREATE TABLE `profile_versions` (
	`id` text PRIMARY KEY NOT NULL,
	`profile_id` text NOT NULL,
	`version` integer NOT NULL,
	`operations` text NOT NULL,
	`description` text,
	`created_by` text NOT NULL,
	`created_by_name` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`profile_id`) REFERENCES `profiles`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `profile_versions_profile_version` ON `profile_versions` (`profile_id`,`version`);--> statement-breakpoint
CREATE TABLE `profiles` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`model` text NOT NULL,
	`provisioning` integer DEFAULT false NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `profiles_name` ON `profiles` (`name`);--> statement-breakpoint
CREATE INDEX `profiles_model` ON `profiles` (`model`,`provisioning`);--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_campaigns` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`build_id` text,
	`kind` text DEFAULT 'firmware' NOT NULL,
	`profile_version_id` text,
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
	`start_at` integer,
	`scheduled_by` text,
	`scheduled_by_name` text,
	`forced_reason` text,
	`mode` text DEFAULT 'install' NOT NULL,
	`bandwidth_bytes_per_second` integer,
	`start_bounds` text,
	`start_cursor` text,
	`join_scan_at` integer,
	FOREIGN KEY (`build_id`) REFERENCES `builds`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
INSERT INTO `__new_campaigns`("id", "name", "build_id", "kind", "profile_version_id", "model", "cohort", "state", "current_stage", "success_threshold", "failure_threshold", "min_sample", "soak_ms", "timeout_ms", "four_eyes", "dynamic", "window", "paused_reason", "pause_kind", "cohort_size", "already_current", "busy", "created_by", "created_by_name", "created_at", "started_at", "finished_at", "updated_at", "start_at", "scheduled_by", "scheduled_by_name", "forced_reason", "mode", "bandwidth_bytes_per_second", "start_bounds", "start_cursor", "join_scan_at") SELECT "id", "name", "build_id", 'firmware', NULL, "model", "cohort", "state", "current_stage", "success_threshold", "failure_threshold", "min_sample", "soak_ms", "timeout_ms", "four_eyes", "dynamic", "window", "paused_reason", "pause_kind", "cohort_size", "already_current", "busy", "created_by", "created_by_name", "created_at", "started_at", "finished_at", "updated_at", "start_at", "scheduled_by", "scheduled_by_name", "forced_reason", "mode", "bandwidth_bytes_per_second", "start_bounds", "start_cursor", "join_scan_at" FROM `campaigns`;--> statement-breakpoint
DROP TABLE `campaigns`;--> statement-breakpoint
ALTER TABLE `__new_campaigns` RENAME TO `campaigns`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `campaigns_state` ON `campaigns` (`state`);--> statement-breakpoint
CREATE TABLE `__new_deployments` (
	`id` text PRIMARY KEY NOT NULL,
	`device_id` text NOT NULL,
	`build_id` text,
	`profile_version_id` text,
	`package_id` text,
	`state` text NOT NULL,
	`result_code` integer,
	`bytes_served` integer DEFAULT 0 NOT NULL,
	`history` text DEFAULT '[]' NOT NULL,
	`mode` text DEFAULT 'downloadAndUpdate' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`not_before` integer,
	`campaign_id` text,
	`stage` integer,
	`created_by` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`device_id`) REFERENCES `devices`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`build_id`) REFERENCES `builds`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`package_id`) REFERENCES `packages`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
INSERT INTO `__new_deployments`("id", "device_id", "build_id", "profile_version_id", "package_id", "state", "result_code", "bytes_served", "history", "mode", "attempts", "not_before", "campaign_id", "stage", "created_by", "created_at", "updated_at") SELECT "id", "device_id", "build_id", NULL, "package_id", "state", "result_code", "bytes_served", "history", "mode", "attempts", "not_before", "campaign_id", "stage", "created_by", "created_at", "updated_at" FROM `deployments`;--> statement-breakpoint
DROP TABLE `deployments`;--> statement-breakpoint
ALTER TABLE `__new_deployments` RENAME TO `deployments`;--> statement-breakpoint
CREATE INDEX `deployments_device` ON `deployments` (`device_id`);--> statement-breakpoint
CREATE INDEX `deployments_state` ON `deployments` (`state`);--> statement-breakpoint
CREATE INDEX `deployments_campaign_stage_state` ON `deployments` (`campaign_id`,`stage`,`state`);--> statement-breakpoint
CREATE INDEX `deployments_campaign_bytes` ON `deployments` (`campaign_id`,`bytes_served`) WHERE "deployments"."bytes_served" > 0;--> statement-breakpoint
CREATE INDEX `deployments_campaign_id` ON `deployments` (`campaign_id`,`id`);