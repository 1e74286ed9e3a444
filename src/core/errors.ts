/** Errors a service raises about the request it was given; the HTTP layer maps each kind to a status. */
export type DomainErrorKind = 'invalid' | 'not_found' | 'conflict' | 'unauthenticated' | 'forbidden' | 'locked' | 'unprocessable' | 'unavailable';

export class DomainError extends Error {
  override name = 'DomainError';
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** A problem lists at most this many of the items it refuses, then how many more (the answer stays small). */
const MAX_LISTED = 20;

/** Items a problem names: the first twenty, then "and N more". */
export function listed(items: readonly string[]): string {
  const more = items.length - MAX_LISTED;
  return items.slice(0, MAX_LISTED).join(', ') + (more > 0 ? ` and ${more} more` : '');
}
