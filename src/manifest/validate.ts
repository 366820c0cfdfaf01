// Validation returns a result, never throws: every error at once (up to MAX_REPORTED_ERRORS, then a count),
// one per (path, message), sorted by path. The validators are compiled once, in schemas.ts, when the module loads.
import type { ErrorObject } from 'ajv';
import type { FieldError } from '../domain/errors.js';
import type { McpServerManifest } from '../domain/manifest.js';
import { capReportedErrors } from './error-cap.js';
import { comparePointers, isPlainObject } from './pointer.js';
import { describeType, quote, translateAjvErrors, type MessageContext } from './messages.js';
import { checkSchemaRules } from './rules.js';
import { isSecretPointer, secretPatternsFor } from './secret-paths.js';
import {
  MANIFEST_KINDS,
  SUPPORTED_TYPES,
  applyRequestSchema,
  validateApplyRequestSchema,
} from './schemas.js';

declare const VALIDATED: unique symbol;
/**
 * A manifest validateManifest accepted (or a structured clone of one, as a parse worker answers it):
 * intake's applyValidated takes it without validating it again.
 */
export type ValidatedManifest = McpServerManifest & { readonly [VALIDATED]: true };

export type ManifestValidation = { ok: true; manifest: ValidatedManifest } | { ok: false; errors: FieldError[] };

/** The PUT body, defaults filled. `manifest` is not validated here: see validateApplyRequest. */
export interface ApplyRequest {
  manifest: unknown;
  dryRun: boolean;
  force: boolean;
  metadata: Record<string, unknown>;
}

export type ApplyRequestValidation = { ok: true; request: ApplyRequest } | { ok: false; errors: FieldError[] };

/** Bounds the work per input: ajv errors past this many are counted, not translated into messages. */
const MAX_TRANSLATED_ERRORS = 500;

/**
 * Drops repeated (path, message) pairs; sorts by path (stable, so one path keeps ajv's order); reports
 * at most MAX_REPORTED_ERRORS and one entry counting the rest (capReportedErrors).
 * `uncounted`: errors known to exist but not among `errors` (not translated; counted as one each).
 */
export function tidyErrors(errors: readonly FieldError[], uncounted = 0): FieldError[] {
  const seen = new Set<string>();
  const unique = errors.filter((e) => {
    if (e.omitted !== undefined) return true;
    const key = `${e.path}\u0000${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  unique.sort((a, b) => comparePointers(a.path, b.path));
  return capReportedErrors(unique, uncounted, uncounted > 0);
}

/** How many errors a tidied list stands for: the reported ones plus the count of those not shown. */
export function errorCount(errors: readonly FieldError[]): number {
  return errors.reduce((n, e) => n + (e.omitted ?? 1), 0);
}

/** One line for a list of errors: `lead: ` the first three, and how many more. */
export function summariseErrors(lead: string, errors: readonly FieldError[]): string {
  const shown = errors.filter((e) => e.omitted === undefined).slice(0, 3);
  const total = errorCount(errors);
  const more = total > shown.length ? ` (and ${(total - shown.length).toLocaleString('en-US')} more)` : '';
  return `${lead}: ${shown.map((e) => `${e.path || '/'}: ${e.message}`).join('; ')}${more}`;
}

/**
 * ajv's errors as tidied field errors. Only the first MAX_TRANSLATED_ERRORS are turned into messages (a
 * 1 MiB body can hold 100,000 unknown fields); the rest are counted.
 */
export function reportAjvErrors(errors: readonly ErrorObject[], ctx: MessageContext, more: readonly FieldError[] = []): FieldError[] {
  const translated = translateAjvErrors(errors.length > MAX_TRANSLATED_ERRORS ? errors.slice(0, MAX_TRANSLATED_ERRORS) : errors, ctx);
  return tidyErrors([...translated, ...more], Math.max(0, errors.length - MAX_TRANSLATED_ERRORS));
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
  const ajvErrors = kind.validate(value) ? [] : (kind.validate.errors as ErrorObject[]);
  const ruleErrors = [...checkSchemaRules(value, { schema: kind.schema, root: kind.schema }), ...(kind.check?.(value) ?? [])];
  if (ajvErrors.length > 0 || ruleErrors.length > 0) {
    const ctx = { root: kind.schema, isSecret: (pointer: string) => isSecretPointer(pointer, patterns) };
    return { ok: false, errors: reportAjvErrors(ajvErrors, ctx, ruleErrors) };
  }
  return { ok: true, manifest: value as unknown as ValidatedManifest };
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
    const errors = reportAjvErrors(validateApplyRequestSchema.errors as ErrorObject[], {
      root: applyRequestSchema,
      // The manifest may hold secrets; nothing under it is echoed.
      isSecret: (pointer) => pointer === '/manifest' || pointer.startsWith('/manifest/'),
    });
    return { ok: false, errors };
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
