CREATE TABLE `build_statements` (
	`build_id` text PRIMARY KEY NOT NULL,
	`envelope` text NOT NULL,
	FOREIGN KEY (`build_id`) REFERENCES `builds`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `offline_policies` (
	`manufacturer_id` text PRIMARY KEY NOT NULL,
	`require_offline_signing` integer DEFAULT false NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`manufacturer_id`) REFERENCES `manufacturers`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `offline_revocations` (
	`manufacturer_id` text NOT NULL,
	`keyid` text NOT NULL,
	`revoked_at` integer NOT NULL,
	PRIMARY KEY(`manufacturer_id`, `keyid`),
	FOREIGN KEY (`manufacturer_id`) REFERENCES `manufacturers`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `offline_roots` (
	`id` text PRIMARY KEY NOT NULL,
	`manufacturer_id` text NOT NULL,
	`version` integer NOT NULL,
	`envelope` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`manufacturer_id`) REFERENCES `manufacturers`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `offline_roots_version` ON `offline_roots` (`manufacturer_id`,`version`);