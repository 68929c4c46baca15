CREATE TABLE `campaign_stage_counts` (
	`campaign_id` text NOT NULL,
	`stage` integer NOT NULL,
	`state` text NOT NULL,
	`shard` integer NOT NULL,
	`n` integer NOT NULL,
	PRIMARY KEY(`campaign_id`, `stage`, `state`, `shard`)
);
--> statement-breakpoint
-- Data migration (hand-written: drizzle-kit cannot derive data). The counts of every
-- campaign that has deployments, counted once, in shard 0; from here on their writers keep
-- them (store/queries/stage-counts.ts). Plain SQL both SQLite and PostgreSQL run.
INSERT INTO campaign_stage_counts (campaign_id, stage, state, shard, n)
SELECT campaign_id, COALESCE(stage, 0), state, 0, count(*) FROM deployments WHERE campaign_id IS NOT NULL GROUP BY campaign_id, COALESCE(stage, 0), state;
