CREATE TABLE `revoked_console_sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `revoked_console_sessions_expires` ON `revoked_console_sessions` (`expires_at`);