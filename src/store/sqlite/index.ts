// The SQLite engines (the embedded default): for the composition root and tests only.
export { SqliteResourceStore, type SqliteResourceStoreOptions } from './sqlite-resource-store.js';
export { SqliteGatewayStore, type SqliteGatewayStoreOptions } from './sqlite-gateway-store.js';
export { CheckpointThread } from './checkpoint-thread.js';
