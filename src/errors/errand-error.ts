/** Base class of every error errand throws on purpose, so callers can tell ours from theirs. */
export class ErrandError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
