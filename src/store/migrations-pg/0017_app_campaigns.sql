ALTER TABLE "campaigns" ADD COLUMN "app_operation" text;--> statement-breakpoint
ALTER TABLE "campaigns" ADD COLUMN "app_component" text;--> statement-breakpoint
ALTER TABLE "campaigns" ADD COLUMN "app_version_id" text;--> statement-breakpoint
ALTER TABLE "scomo_deployments" ADD COLUMN "deployment_id" text;--> statement-breakpoint
CREATE INDEX "scomo_deployments_deployment" ON "scomo_deployments" USING btree ("deployment_id");