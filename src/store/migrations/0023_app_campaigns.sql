ALTER TABLE `campaigns` ADD `app_operation` text;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `app_component` text;--> statement-breakpoint
ALTER TABLE `campaigns` ADD `app_version_id` text;--> statement-breakpoint
ALTER TABLE `scomo_deployments` ADD `deployment_id` text;--> statement-breakpoint
CREATE INDEX `scomo_deployments_deployment` ON `scomo_deployments` (`deployment_id`);