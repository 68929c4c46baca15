// The whole schema, one file per aggregate, for Drizzle and drizzle-kit.
export * from './access.ts';
export * from './builds.ts';
export * from './campaigns.ts';
export * from './console.ts';
export * from './devices.ts';
export * from './manufacturers.ts';
export * from './leases.ts';
export * from './webhooks.ts';
export * from './releases.ts';
export * from './offline-signing.ts';
export * from './helpdesk.ts';
export * from './scomo.ts';
export * from './large-objects.ts';
export * from './user-interaction.ts';
export * from './profiles.ts';
export * from './enrollments.ts';
