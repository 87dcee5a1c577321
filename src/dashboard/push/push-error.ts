import type { ErrorBody } from '../api-types.js';

/** A push refused with an HTTP status and a message naming what is at fault (and the option to set). */
export class PushError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 405 | 409 | 413 | 422 | 500 | 503,
    message: string,
    readonly option?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'PushError';
  }

  /** The answer's JSON body. */
  body(): ErrorBody {
    return this.option === undefined ? { error: this.message } : { error: this.message, option: this.option };
  }
}
