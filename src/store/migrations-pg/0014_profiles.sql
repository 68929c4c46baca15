CREATE TABLE "device_configuration" (
	"device_id" text NOT NULL,
	"uri" text NOT NULL,
	"value" text NOT NULL,
	"profile_version_id" text NOT NULL,
	"reported_at" bigint NOT NULL,
	CONSTRAINT "device_configuration_device_id_uri_pk" PRIMARY KEY("device_id","uri")
);
--> statement-breakpoint
CREATE TABLE "profile_applications" (
	"id" text PRIMARY KEY NOT NULL,
	"device_id" text NOT NULL,
	"profile_version_id" text NOT NULL,
	"reason" text NOT NULL,
	"state" text NOT NULL,
	"deployment_id" text,
	"operation_ids" text NOT NULL,
	"statuses" text,
	"failure_code" bigint,
	"drift" text,
	"created_by" text NOT NULL,
	"created_at" bigint NOT NULL,
	"done_at" bigint
);
--> statement-breakpoint
CREATE TABLE "profile_versions" (
	"id" text PRIMARY KEY NOT NULL,
	"profile_id" text NOT NULL,
	"version" bigint NOT NULL,
	"operations" text NOT NULL,
	"description" text,
	"created_by" text NOT NULL,
	"created_by_name" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "profiles" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"model" text NOT NULL,
	"provisioning" boolean DEFAULT false NOT NULL,
	"created_by" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "campaigns" ALTER COLUMN "build_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "deployments" ALTER COLUMN "build_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "campaigns" ADD COLUMN "kind" text DEFAULT 'firmware' NOT NULL;--> statement-breakpoint
ALTER TABLE "campaigns" ADD COLUMN "profile_version_id" text;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "profile_version_id" text;--> statement-breakpoint
ALTER TABLE "profile_versions" ADD CONSTRAINT "profile_versions_profile_id_profiles_id_fk" FOREIGN KEY ("profile_id") REFERENCES "public"."profiles"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "profile_applications_device" ON "profile_applications" USING btree ("device_id","state");--> statement-breakpoint
CREATE INDEX "profile_applications_version" ON "profile_applications" USING btree ("profile_version_id","state");--> statement-breakpoint
CREATE UNIQUE INDEX "profile_versions_profile_version" ON "profile_versions" USING btree ("profile_id","version");--> statement-breakpoint
CREATE UNIQUE INDEX "profiles_name" ON "profiles" USING btree ("name");--> statement-breakpoint
CREATE INDEX "profiles_model" ON "profiles" USING btree ("model","provisioning");