CREATE INDEX "deployments_campaign_id" ON "deployments" USING btree ("campaign_id","id");--> statement-breakpoint
CREATE INDEX "devices_model_id" ON "devices" USING btree ("model","id");