// One error type for every failure a user can act on. Transports (CLI, HTTP, DM) map
// `code` to their own language: an exit code, an HTTP status, a SyncML status.
export type ErrorCode =
  | 'VALIDATION'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'FORBIDDEN'
  | 'UNAUTHORIZED'
  | 'INTEGRITY'
  | 'TOO_LARGE'
  | 'INSUFFICIENT_MEMORY'
  | 'IO';

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AppError';
  }
}
