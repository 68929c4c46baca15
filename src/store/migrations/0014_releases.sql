CREATE TABLE `releases` (
	`id` text PRIMARY KEY NOT NULL,
	`build_id` text NOT NULL,
	`model` text NOT NULL,
	`cohort` text NOT NULL,
	`window` text,
	`created_by` text NOT NULL,
	`created_by_name` text NOT NULL,
	`created_at` integer NOT NULL,
	`withdrawn_at` integer,
	FOREIGN KEY (`build_id`) REFERENCES `builds`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `releases_model` ON `releases` (`model`,`withdrawn_at`);