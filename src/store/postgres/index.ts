export { PostgresDatabase, type PostgresDatabaseOptions } from './database.js';
export { PostgresResourceStore, type PostgresResourceStoreOptions } from './postgres-resource-store.js';
export { PostgresGatewayStore, type PostgresGatewayStoreOptions } from './postgres-gateway-store.js';
export { migrate, checkSchemaVersion, schemaVersion, SchemaTooNewError, POSTGRES_SCHEMA_VERSION } from './migrations.js';
export type { Fence } from './units.js';
export { PostgresCredentialStore, type PostgresCredentialStoreOptions } from './credentials.js';
