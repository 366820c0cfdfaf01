export * from './resource-store.js';
export { plainSecretCodec, type SecretCodec } from './secret-codec.js';
export { SqliteResourceStore, type SqliteResourceStoreOptions } from './sqlite-resource-store.js';
