export * from './access-policy.js';
export * from './intake.js';
export { generationETag, GENERATION_ETAG_HEADER, resourceVersionETag } from './preconditions.js';
