import { API_DEFAULTS } from '../../config/resolve-api.js';
import { MAX_CLIENT_ID_LENGTH, MAX_JOBS_PER_REQUEST } from './parse-push-body.js';

/** A piece of an OpenAPI 3.1 document: the paths it adds and the components they refer to. */
export interface OpenApiPart {
  paths: Record<string, unknown>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
}

const error = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } },
});

/**
 * The push API's part of `api/openapi.json`: `POST /api/queues/{queue}/jobs` (paths are relative
 * to the dashboard's base path, which the document's `servers` names), its bodies and its two
 * security schemes. The dashboard's document merges it with its own paths.
 */
export function pushOpenApiPaths(): OpenApiPart {
  return {
    paths: {
      '/api/queues/{queue}/jobs': {
        post: {
          operationId: 'pushJobs',
          summary: 'Queue one job or many, as a dispatch in the application would',
          description:
            'Each job is built from the registered class its `job` names and checked as a worker decodes it before any is queued. ' +
            'A job sent again with the same `id` within api.idempotencyWindow gets the first answer (`replayed: true`) and queues nothing. ' +
            'Authenticate with a bearer token (api.tokens) or an HMAC-SHA256 signature of "<timestamp>.<body>" (api.signingKeys).',
          security: [{ bearerToken: [] }, { signedBody: [], signedAt: [] }],
          parameters: [
            { name: 'queue', in: 'path', required: true, schema: { type: 'string', minLength: 1, maxLength: 255 } },
            {
              name: 'connection',
              in: 'query',
              required: false,
              description: "The connection to queue on; default the job class's own, else the config's default.",
              schema: { type: 'string' },
            },
          ],
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  oneOf: [{ $ref: '#/components/schemas/PushJob' }, { $ref: '#/components/schemas/PushJobs' }],
                },
              },
            },
          },
          responses: {
            '201': {
              description: 'At least one job was queued.',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/PushBody' } } },
            },
            '200': {
              description: 'Nothing new was queued: every job was a replay of its id, or skipped by its unique lock.',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/PushBody' } } },
            },
            '400': error('The body is not JSON or not the shape of a push, or the queue or connection is unusable.'),
            '401': error('No credentials, a token or signature that matches no configured one, or a stale timestamp.'),
            '404': error(
              'No job is registered under that name (the message names the closest one), or no such connection.',
            ),
            '409': error('Another request is pushing the same id right now; retry after the Retry-After seconds.'),
            '413': error(`The body is larger than api.maxBodySize (default ${API_DEFAULTS.maxBodySize} bytes).`),
            '422': error(
              'The data could not be restored into the job or would not decode on a worker, a bad delay, or an id reused for a different job.',
            ),
          },
        },
      },
    },
    components: {
      securitySchemes: {
        bearerToken: { type: 'http', scheme: 'bearer', description: 'One of api.tokens (ERRAND_API_TOKENS).' },
        signedBody: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Errand-Signature',
          description:
            '"sha256=" and the hex HMAC-SHA256, under one of api.signingKeys, of the timestamp, a dot and the raw body.',
        },
        signedAt: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Errand-Timestamp',
          description: `Unix seconds when the body was signed; within api.replayWindow (default ${API_DEFAULTS.replayWindow} s) of the server's clock.`,
        },
      },
      schemas: {
        PushJob: {
          type: 'object',
          required: ['job'],
          additionalProperties: false,
          properties: {
            job: { type: 'string', description: 'The registered job name (@Job name).' },
            data: { type: 'object', description: "The job's properties, as its payload's data.command holds them." },
            id: {
              type: 'string',
              minLength: 1,
              maxLength: MAX_CLIENT_ID_LENGTH,
              description: "The client's id for this job: the same id again gets the first answer.",
            },
            delay: { type: 'number', minimum: 0, description: 'Seconds before the job is available.' },
          },
        },
        PushJobs: {
          type: 'object',
          required: ['jobs'],
          additionalProperties: false,
          properties: {
            jobs: {
              type: 'array',
              minItems: 1,
              maxItems: MAX_JOBS_PER_REQUEST,
              items: { $ref: '#/components/schemas/PushJob' },
            },
          },
        },
        PushedJobBody: {
          type: 'object',
          required: ['id', 'job', 'connection', 'queue', 'jobId', 'replayed'],
          properties: {
            id: { type: ['string', 'null'] },
            job: { type: 'string' },
            connection: { type: 'string' },
            queue: { type: 'string' },
            jobId: { type: ['string', 'null'] },
            replayed: { type: 'boolean' },
            skipped: { type: 'string', enum: ['unique'] },
          },
        },
        PushBody: {
          type: 'object',
          required: ['ok', 'jobs'],
          properties: {
            ok: { type: 'boolean', const: true },
            jobs: { type: 'array', items: { $ref: '#/components/schemas/PushedJobBody' } },
          },
        },
        ErrorBody: {
          type: 'object',
          required: ['error'],
          properties: { error: { type: 'string' }, option: { type: 'string' } },
        },
      },
    },
  };
}
