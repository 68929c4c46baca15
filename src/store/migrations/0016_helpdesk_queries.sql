CREATE TABLE `device_queries` (
	`id` text PRIMARY KEY NOT NULL,
	`device_id` text NOT NULL,
	`presets` text DEFAULT '[]' NOT NULL,
	`wake` text,
	`created_by` text NOT NULL,
	`created_by_name` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`device_id`) REFERENCES `devices`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `device_queries_device` ON `device_queries` (`device_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `device_query_nodes` (
	`op_id` text PRIMARY KEY NOT NULL,
	`query_id` text NOT NULL,
	`position` integer NOT NULL,
	`source` text NOT NULL,
	`depth` integer DEFAULT 0 NOT NULL,
	FOREIGN KEY (`op_id`) REFERENCES `dm_operations`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`query_id`) REFERENCES `device_queries`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `device_query_nodes_query` ON `device_query_nodes` (`query_id`,`position`);