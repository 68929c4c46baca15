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
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'INSUFFICIENT_MEMORY'
  | 'IO';

export class AppError extends Error {
  /** Facts a client can act on (e.g. the id of the campaign that holds a device), sent with the error. */
  readonly details: Record<string, unknown> | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.details = options?.details;
    this.name = 'AppError';
  }
}
