// The resources table's row, and the conversions between a row and a resource. Secret values live in
// their own column, sealed by the codec; the spec column holds the manifest with them masked.
import type { McpServerManifest } from '../domain/manifest.js';
import type { McpServerResource, ResourceStatus } from '../domain/resource.js';
import { splitSecrets } from '../manifest/index.js';
import { setAtPointer } from '../manifest/pointer.js';
import type { SecretCodec } from './secret-codec.js';
import type { GetOptions, NewResource, ResourceUpdate } from './types.js';
import type { StoredResourceText } from './view-renderer.js';

export interface ResourceRow {
  id: string;
  fqn: string;
  tenant: string;
  name: string;
  kind: string;
  spec: string;
  secrets: string;
  spec_hash: string;
  generation: number;
  resource_version: number;
  source: string;
  metadata: string;
  account_id: string;
  created_by: string;
  updated_by: string;
  created_at: string;
  updated_at: string;
  status: string;
}

/**
 * Every column but `view` (and `view_rv`), which only answer reads: the view is the row's largest
 * column, often on overflow pages that a read of the other columns never touches.
 */
export const COLUMNS = `id, fqn, tenant, name, kind, spec, secrets, spec_hash, generation, resource_version, source, metadata,
  account_id, created_by, updated_by, created_at, updated_at, status`;

export class RowCodec {
  constructor(private readonly codec: SecretCodec) {}

  /** The spec column (the manifest with its secret values masked) and the secrets column of a manifest. */
  seal(manifest: McpServerManifest): { spec: string; secrets: string } {
    const { spec, secrets } = splitSecrets(manifest);
    const sealed: Record<string, string> = {};
    for (const [pointer, value] of Object.entries(secrets)) sealed[pointer] = this.codec.seal(value);
    return { spec: JSON.stringify(spec), secrets: JSON.stringify(sealed) };
  }

  /** The row of a resource being created: generation 1, created and updated now by its creator. */
  newRow(input: NewResource, resourceVersion: number, now: string): ResourceRow {
    const sealed = this.seal(input.manifest);
    const createdBy = JSON.stringify(input.createdBy);
    return {
      id: input.id,
      fqn: input.fqn,
      tenant: input.tenant,
      name: input.name,
      kind: input.manifest.type,
      spec: sealed.spec,
      secrets: sealed.secrets,
      spec_hash: input.specHash,
      generation: 1,
      resource_version: resourceVersion,
      source: JSON.stringify(input.source),
      metadata: JSON.stringify(input.metadata),
      account_id: input.accountId,
      created_by: createdBy,
      updated_by: createdBy,
      created_at: now,
      updated_at: now,
      status: JSON.stringify(input.status),
    };
  }

  /** The stored row with an update applied: who created it, and when, stay as stored. */
  updatedRow(stored: ResourceRow, update: ResourceUpdate, resourceVersion: number, now: string): ResourceRow {
    const sealed = this.seal(update.manifest);
    return {
      ...stored,
      kind: update.manifest.type,
      spec: sealed.spec,
      secrets: sealed.secrets,
      spec_hash: update.specHash,
      generation: update.generation,
      resource_version: resourceVersion,
      source: JSON.stringify(update.source),
      metadata: JSON.stringify(update.metadata),
      account_id: update.accountId,
      updated_by: JSON.stringify(update.updatedBy),
      updated_at: now,
      status: JSON.stringify(update.status),
    };
  }

  /**
   * The resource of a row. `manifest`: true for secret values masked (the spec column holds them so),
   * nothing decrypted, for callers that answer or log the resource, which mask it anyway; or the
   * manifest itself, when the caller knows it (see GetOptions.known).
   */
  fromRow(row: ResourceRow, manifest: boolean | McpServerManifest = false): McpServerResource {
    return resourceOfRow(row, {
      manifest: typeof manifest === 'object' ? manifest : this.manifestOfRow(row, manifest),
      source: JSON.parse(row.source),
      metadata: JSON.parse(row.metadata),
      createdBy: JSON.parse(row.created_by),
      updatedBy: JSON.parse(row.updated_by),
      status: JSON.parse(row.status) as ResourceStatus,
    });
  }

  fromKnownRow(row: ResourceRow, options: GetOptions | undefined): McpServerResource {
    const known = options?.known;
    return known && known.specHash === row.spec_hash ? this.fromRow(row, known.manifest) : this.fromRow(row);
  }

  private manifestOfRow(row: ResourceRow, masked: boolean): McpServerManifest {
    return this.open(row.spec, masked ? undefined : row.secrets);
  }

  /** The manifest of a spec column (see seal), with the secrets column opened into it; masked without it. */
  open(spec: string, secrets: string | undefined): McpServerManifest {
    // The spec column is the manifest with every secret value masked (see seal); the secrets are put
    // back into the freshly parsed copy, so nothing needs cloning.
    const manifest = JSON.parse(spec) as McpServerManifest;
    if (secrets !== undefined) {
      const sealed = JSON.parse(secrets) as Record<string, string>;
      for (const pointer in sealed) setAtPointer(manifest, pointer, this.codec.open(sealed[pointer]!));
    }
    return manifest;
  }
}

/** A resource from a row's scalar columns and its objects (parsed from the row, or as a write was given them). */
export function resourceOfRow(
  row: ResourceRow,
  objects: Pick<McpServerResource, 'manifest' | 'source' | 'metadata' | 'createdBy' | 'updatedBy' | 'status'>,
): McpServerResource {
  return {
    id: row.id,
    tenant: row.tenant,
    name: row.name,
    fqn: row.fqn,
    manifest: objects.manifest,
    specHash: row.spec_hash,
    generation: row.generation,
    resourceVersion: row.resource_version,
    source: objects.source,
    metadata: objects.metadata,
    createdBy: objects.createdBy,
    updatedBy: objects.updatedBy,
    accountId: row.account_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    status: objects.status,
  };
}

/** The texts of a row a ViewRenderer renders from. */
export function storedText(row: ResourceRow): StoredResourceText {
  return {
    id: row.id,
    fqn: row.fqn,
    name: row.name,
    spec: row.spec,
    createdBy: row.created_by,
    source: row.source,
    metadata: row.metadata,
    accountId: row.account_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    generation: row.generation,
  };
}

/**
 * JSON.stringify(fromRow(row, true)) made from the column texts (each written by JSON.stringify), so the
 * changelog entry of a status write costs no decoding. The members of fromRow, in its order.
 */
export function maskedResourceText(row: ResourceRow): string {
  const json = JSON.stringify;
  return (
    `{"id":${json(row.id)},"tenant":${json(row.tenant)},"name":${json(row.name)},"fqn":${json(row.fqn)},"manifest":${row.spec},` +
    `"specHash":${json(row.spec_hash)},"generation":${row.generation},"resourceVersion":${row.resource_version},"source":${row.source},` +
    `"metadata":${row.metadata},"createdBy":${row.created_by},"updatedBy":${row.updated_by},"accountId":${json(row.account_id)},` +
    `"createdAt":${json(row.created_at)},"updatedAt":${json(row.updated_at)},"status":${row.status}}`
  );
}
