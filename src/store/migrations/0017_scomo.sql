CREATE TABLE `app_baselines` (
	`model` text PRIMARY KEY NOT NULL,
	`spec` text NOT NULL,
	`updated_by` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `app_packages` (
	`id` text PRIMARY KEY NOT NULL,
	`app_version_id` text NOT NULL,
	`kind` text NOT NULL,
	`from_version` text,
	`file_sha256` text NOT NULL,
	`file_size` integer NOT NULL,
	`payload_size` integer NOT NULL,
	`envelope` text NOT NULL,
	`keyid` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`app_version_id`) REFERENCES `app_versions`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `app_packages_version` ON `app_packages` (`app_version_id`);--> statement-breakpoint
CREATE TABLE `app_versions` (
	`id` text PRIMARY KEY NOT NULL,
	`manufacturer_id` text NOT NULL,
	`model` text NOT NULL,
	`component` text NOT NULL,
	`version` text NOT NULL,
	`sha256` text NOT NULL,
	`size` integer NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`manufacturer_id`) REFERENCES `manufacturers`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `app_versions_component_version` ON `app_versions` (`model`,`component`,`version`);--> statement-breakpoint
CREATE TABLE `device_apps` (
	`device_id` text PRIMARY KEY NOT NULL,
	`components` text NOT NULL,
	`read_at` integer NOT NULL,
	FOREIGN KEY (`device_id`) REFERENCES `devices`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `scomo_deployments` (
	`id` text PRIMARY KEY NOT NULL,
	`device_id` text NOT NULL,
	`component` text NOT NULL,
	`operation` text NOT NULL,
	`mode` text NOT NULL,
	`app_version_id` text,
	`target_version` text,
	`app_package_id` text,
	`node` text NOT NULL,
	`state` text NOT NULL,
	`result_code` integer,
	`attempts` integer DEFAULT 0 NOT NULL,
	`reason` text NOT NULL,
	`history` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`device_id`) REFERENCES `devices`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`app_version_id`) REFERENCES `app_versions`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `scomo_deployments_device` ON `scomo_deployments` (`device_id`,`state`);