CREATE TABLE "app_baselines" (
	"model" text PRIMARY KEY NOT NULL,
	"spec" text NOT NULL,
	"updated_by" text NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "app_packages" (
	"id" text PRIMARY KEY NOT NULL,
	"app_version_id" text NOT NULL,
	"kind" text NOT NULL,
	"from_version" text,
	"file_sha256" text NOT NULL,
	"file_size" bigint NOT NULL,
	"payload_size" bigint NOT NULL,
	"envelope" text NOT NULL,
	"keyid" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "app_versions" (
	"id" text PRIMARY KEY NOT NULL,
	"manufacturer_id" text NOT NULL,
	"model" text NOT NULL,
	"component" text NOT NULL,
	"version" text NOT NULL,
	"sha256" text NOT NULL,
	"size" bigint NOT NULL,
	"created_by" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "device_apps" (
	"device_id" text PRIMARY KEY NOT NULL,
	"components" text NOT NULL,
	"read_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "scomo_deployments" (
	"id" text PRIMARY KEY NOT NULL,
	"device_id" text NOT NULL,
	"component" text NOT NULL,
	"operation" text NOT NULL,
	"mode" text NOT NULL,
	"app_version_id" text,
	"target_version" text,
	"app_package_id" text,
	"node" text NOT NULL,
	"state" text NOT NULL,
	"result_code" bigint,
	"attempts" bigint DEFAULT 0 NOT NULL,
	"reason" text NOT NULL,
	"history" text NOT NULL,
	"created_by" text NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "app_packages" ADD CONSTRAINT "app_packages_app_version_id_app_versions_id_fk" FOREIGN KEY ("app_version_id") REFERENCES "public"."app_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "app_versions" ADD CONSTRAINT "app_versions_manufacturer_id_manufacturers_id_fk" FOREIGN KEY ("manufacturer_id") REFERENCES "public"."manufacturers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "device_apps" ADD CONSTRAINT "device_apps_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "public"."devices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scomo_deployments" ADD CONSTRAINT "scomo_deployments_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "public"."devices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scomo_deployments" ADD CONSTRAINT "scomo_deployments_app_version_id_app_versions_id_fk" FOREIGN KEY ("app_version_id") REFERENCES "public"."app_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "app_packages_version" ON "app_packages" USING btree ("app_version_id");--> statement-breakpoint
CREATE UNIQUE INDEX "app_versions_component_version" ON "app_versions" USING btree ("model","component","version");--> statement-breakpoint
CREATE INDEX "scomo_deployments_device" ON "scomo_deployments" USING btree ("device_id","state");