ALTER TABLE `deployments` ADD `mode` text DEFAULT 'downloadAndUpdate' NOT NULL;--> statement-breakpoint
ALTER TABLE `deployments` ADD `attempts` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `deployments` ADD `created_by` text;--> statement-breakpoint
CREATE INDEX `deployments_state` ON `deployments` (`state`);