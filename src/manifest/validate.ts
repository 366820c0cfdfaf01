// Validation returns a result, never throws: every error at once, one per (path, message), sorted by
// path. The validators are compiled once, in schemas.ts, when the module loads.
import type { ErrorObject } from 'ajv';
import type { FieldError } from '../domain/errors.js';
import type { McpServerManifest } from '../domain/manifest.js';
import { comparePointers, isPlainObject } from './pointer.js';
import { describeType, quote, translateAjvErrors } from './messages.js';
import { checkSchemaRules } from './rules.js';
import { isSecretPointer, secretPatternsFor } from './secret-paths.js';
import {
  MANIFEST_KINDS,
  SUPPORTED_TYPES,
  applyRequestSchema,
  validateApplyRequestSchema,
} from './schemas.js';

export type ManifestValidation = { ok: true; manifest: McpServerManifest } | { ok: false; errors: FieldError[] };

/** The PUT body, defaults filled. `manifest` is not validated here: see validateApplyRequest. */
export interface ApplyRequest {
  manifest: unknown;
  dryRun: boolean;
  force: boolean;
  metadata: Record<string, unknown>;
}

export type ApplyRequestValidation = { ok: true; request: ApplyRequest } | { ok: false; errors: FieldError[] };

/** Drops repeated (path, message) pairs; sorts by path (stable, so one path keeps ajv's order). */
export function tidyErrors(errors: readonly FieldError[]): FieldError[] {
  const seen = new Set<string>();
  const unique = errors.filter((e) => {
    const key = `${e.path}\u0000${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return unique.sort((a, b) => comparePointers(a.path, b.path));
}

/** Puts errors of a nested document under `prefix`, e.g. the manifest of a PUT body under /manifest. */
export function prefixErrors(errors: readonly FieldError[], prefix: string): FieldError[] {
  return errors.map((e) => ({ ...e, path: prefix + e.path }));
}

/**
 * Validates a manifest of any supported kind, chosen by its `type`. Defaults are not filled in:
 * pass the result through normaliseManifest before storing or hashing it.
 */
export function validateManifest(value: unknown): ManifestValidation {
  const supported = SUPPORTED_TYPES.join(', ');
  if (!isPlainObject(value)) {
    return {
      ok: false,
      errors: [{ path: '', message: `must be an object (a manifest with a "type"; supported types: ${supported}), got ${describeType(value)}` }],
    };
  }
  const type = value.type;
  const kind = typeof type === 'string' ? MANIFEST_KINDS.get(type) : undefined;
  if (!kind) {
    const message =
      type === undefined
        ? `is required; supported types: ${supported}`
        : `must be one of the supported manifest types: ${supported}, got ${typeof type === 'string' ? quote(type) : describeType(type)}`;
    return { ok: false, errors: [{ path: '/type', message }] };
  }
  const patterns = secretPatternsFor(kind.type);
  const errors: FieldError[] = [];
  if (!kind.validate(value)) {
    errors.push(
      ...translateAjvErrors(kind.validate.errors as ErrorObject[], {
        root: kind.schema,
        isSecret: (pointer) => isSecretPointer(pointer, patterns),
      }),
    );
  }
  errors.push(...checkSchemaRules(value, { schema: kind.schema, root: kind.schema }));
  if (errors.length > 0) return { ok: false, errors: tidyErrors(errors) };
  return { ok: true, manifest: value as unknown as McpServerManifest };
}

/**
 * Validates the envelope of a PUT body and fills its defaults. The manifest inside is only checked to
 * be an object; validate it with validateManifest and report its errors with prefixErrors(…, '/manifest').
 */
export function validateApplyRequest(body: unknown): ApplyRequestValidation {
  if (!isPlainObject(body)) {
    return { ok: false, errors: [{ path: '', message: `must be an object with a "manifest", got ${describeType(body)}` }] };
  }
  if (!validateApplyRequestSchema(body)) {
    const errors = translateAjvErrors(validateApplyRequestSchema.errors as ErrorObject[], {
      root: applyRequestSchema,
      // The manifest may hold secrets; nothing under it is echoed.
      isSecret: (pointer) => pointer === '/manifest' || pointer.startsWith('/manifest/'),
    });
    return { ok: false, errors: tidyErrors(errors) };
  }
  return {
    ok: true,
    request: {
      manifest: body.manifest,
      dryRun: body.dryRun === true,
      force: body.force === true,
      metadata: isPlainObject(body.metadata) ? body.metadata : {},
    },
  };
}
