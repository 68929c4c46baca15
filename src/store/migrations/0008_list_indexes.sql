CREATE INDEX `deployments_campaign_id` ON `deployments` (`campaign_id`,`id`);--> statement-breakpoint
CREATE INDEX `devices_model_id` ON `devices` (`model`,`id`);