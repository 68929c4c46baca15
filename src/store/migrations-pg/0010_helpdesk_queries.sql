CREATE TABLE "device_queries" (
	"id" text PRIMARY KEY NOT NULL,
	"device_id" text NOT NULL,
	"presets" text DEFAULT '[]' NOT NULL,
	"wake" text,
	"created_by" text NOT NULL,
	"created_by_name" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "device_query_nodes" (
	"op_id" text PRIMARY KEY NOT NULL,
	"query_id" text NOT NULL,
	"position" integer NOT NULL,
	"source" text NOT NULL,
	"depth" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
ALTER TABLE "device_queries" ADD CONSTRAINT "device_queries_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "public"."devices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "device_query_nodes" ADD CONSTRAINT "device_query_nodes_op_id_dm_operations_id_fk" FOREIGN KEY ("op_id") REFERENCES "public"."dm_operations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "device_query_nodes" ADD CONSTRAINT "device_query_nodes_query_id_device_queries_id_fk" FOREIGN KEY ("query_id") REFERENCES "public"."device_queries"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "device_queries_device" ON "device_queries" USING btree ("device_id","created_at");--> statement-breakpoint
CREATE INDEX "device_query_nodes_query" ON "device_query_nodes" USING btree ("query_id","position");