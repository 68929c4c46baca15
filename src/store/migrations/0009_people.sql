CREATE TABLE `people` (
	`id` text PRIMARY KEY NOT NULL,
	`login` text NOT NULL,
	`display_name` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `people_login_unique` ON `people` (`login`);--> statement-breakpoint
ALTER TABLE `audit_events` ADD `actor_name` text;--> statement-breakpoint
ALTER TABLE `audit_events` ADD `token_id` text;--> statement-breakpoint
ALTER TABLE `tokens` ADD `person_id` text REFERENCES people(id);--> statement-breakpoint
CREATE INDEX `tokens_person` ON `tokens` (`person_id`);