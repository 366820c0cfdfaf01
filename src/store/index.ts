export * from './resource-store.js';
export { plainSecretCodec, type SecretCodec } from './secret-codec.js';
export { SqliteResourceStore, type SqliteResourceStoreOptions } from './sqlite-resource-store.js';
export { viewAnswerer, VIEW_FORMAT } from './resource-view.js';
