ALTER TABLE `devices` ADD `auth_locked_until` integer;--> statement-breakpoint
ALTER TABLE `dm_sessions` DROP COLUMN `authenticated`;--> statement-breakpoint
ALTER TABLE `dm_sessions` ADD `auth_nonce` text;--> statement-breakpoint
CREATE INDEX `dm_sessions_expiry` ON `dm_sessions` (`expires_at`);