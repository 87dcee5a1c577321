import type { ModelKey } from '../contracts/model-resolver.js';
import { ErrandError } from './errand-error.js';

/** A job held a model whose row no longer exists when the worker came to fetch it. */
export class ModelNotFoundError extends ErrandError {
  constructor(
    readonly model: string,
    readonly ids: readonly ModelKey[],
    readonly property: string,
  ) {
    super(
      `No row found for model [${model}] with id ${ids.map((id) => JSON.stringify(id)).join(', ')} (held by property ${property}).`,
    );
  }
}
