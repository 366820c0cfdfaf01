export * from './resource-store.js';
export { SqliteResourceStore, plainSecretCodec, type SecretCodec, type SqliteResourceStoreOptions } from './sqlite-resource-store.js';
