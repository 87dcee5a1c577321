// The push API's pieces the dashboard's router and entry point use.
export { SIGNATURE_HEADER, signPushBody, TIMESTAMP_HEADER } from './authenticate-push.js';
export { handlePush, type PushContext } from './handle-push.js';
export { pushOpenApiPaths } from './push-openapi.js';
