CREATE TABLE `dm_object_chunks` (
	`session_id` text NOT NULL,
	`seq` integer NOT NULL,
	`uri` text NOT NULL,
	`declared_size` integer NOT NULL,
	`command` text NOT NULL,
	`msg_ref` integer NOT NULL,
	`cmd_ref` integer NOT NULL,
	`get_cmd_ref` integer,
	`get_msg_ref` integer,
	`format` text,
	`type` text,
	`bytes` integer NOT NULL,
	`data` text NOT NULL,
	PRIMARY KEY(`session_id`, `seq`)
);
--> statement-breakpoint
CREATE TABLE `confirmation_policies` (
	`subject_id` text PRIMARY KEY NOT NULL,
	`text` text NOT NULL,
	`min_seconds` integer,
	`max_seconds` integer NOT NULL,
	`default_response` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `user_prompts` (
	`id` text PRIMARY KEY NOT NULL,
	`device_id` text NOT NULL,
	`subject_id` text NOT NULL,
	`attempt` integer NOT NULL,
	`code` text NOT NULL,
	`text` text NOT NULL,
	`asked_at` integer NOT NULL,
	`answered_at` integer,
	`outcome` text,
	`status_code` integer,
	`answer` text
);
--> statement-breakpoint
CREATE INDEX `user_prompts_subject` ON `user_prompts` (`subject_id`,`attempt`);--> statement-breakpoint
ALTER TABLE `dm_sessions` ADD `max_obj_size` integer;--> statement-breakpoint
ALTER TABLE `dm_sessions` ADD `receiving_object` integer DEFAULT false NOT NULL;