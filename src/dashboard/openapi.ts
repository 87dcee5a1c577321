import { pushOpenApiPaths } from './push/push-openapi.js';
import { API_ROUTES } from './route-table.js';

/**
 * `GET api/openapi.json`: the API's routes as an OpenAPI 3.1 document whose paths are relative
 * to the mount (a server entry of `.` keeps them so). Bodies are described in docs/http-api.md.
 */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [name, [method, path]] of Object.entries(API_ROUTES)) {
    const key = `/${path.replace(/:(\w+)/g, '{$1}')}`;
    const parameters = [...path.matchAll(/:(\w+)/g)].map((match) => ({
      name: match[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    paths[key] = {
      ...paths[key],
      [method.toLowerCase()]: {
        operationId: name,
        ...(parameters.length > 0 ? { parameters } : {}),
        responses: { '200': { description: 'OK', content: { 'application/json': {} } } },
      },
    };
  }
  // The push API is described in full (its bodies, errors and two security schemes): other hosts code against it.
  const push = pushOpenApiPaths();
  return {
    openapi: '3.1.0',
    info: { title: 'errand dashboard API', version: '1' },
    servers: [{ url: '.' }],
    paths: { ...paths, ...push.paths },
    components: push.components,
  };
}
