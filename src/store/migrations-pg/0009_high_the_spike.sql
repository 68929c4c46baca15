CREATE TABLE "build_statements" (
	"build_id" text PRIMARY KEY NOT NULL,
	"envelope" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "offline_policies" (
	"manufacturer_id" text PRIMARY KEY NOT NULL,
	"require_offline_signing" boolean DEFAULT false NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "offline_revocations" (
	"manufacturer_id" text NOT NULL,
	"keyid" text NOT NULL,
	"revoked_at" bigint NOT NULL,
	CONSTRAINT "offline_revocations_manufacturer_id_keyid_pk" PRIMARY KEY("manufacturer_id","keyid")
);
--> statement-breakpoint
CREATE TABLE "offline_roots" (
	"id" text PRIMARY KEY NOT NULL,
	"manufacturer_id" text NOT NULL,
	"version" integer NOT NULL,
	"envelope" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "build_statements" ADD CONSTRAINT "build_statements_build_id_builds_id_fk" FOREIGN KEY ("build_id") REFERENCES "public"."builds"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "offline_policies" ADD CONSTRAINT "offline_policies_manufacturer_id_manufacturers_id_fk" FOREIGN KEY ("manufacturer_id") REFERENCES "public"."manufacturers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "offline_revocations" ADD CONSTRAINT "offline_revocations_manufacturer_id_manufacturers_id_fk" FOREIGN KEY ("manufacturer_id") REFERENCES "public"."manufacturers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "offline_roots" ADD CONSTRAINT "offline_roots_manufacturer_id_manufacturers_id_fk" FOREIGN KEY ("manufacturer_id") REFERENCES "public"."manufacturers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "offline_roots_version" ON "offline_roots" USING btree ("manufacturer_id","version");