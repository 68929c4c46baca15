ALTER TABLE `dm_operations` ADD `gate_id` text;--> statement-breakpoint
ALTER TABLE `confirmation_policies` ADD `each_step` integer DEFAULT false NOT NULL;