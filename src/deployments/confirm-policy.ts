// Moved to devices/confirm-policy.ts (SCOMO, profiles and the helpdesk gate on it too, and
// devices sits below deployments); re-exported for imports written before the move.
export * from '../devices/confirm-policy.ts';
