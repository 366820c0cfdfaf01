// The manifest pipeline's public API: parse → validate → normalise (+ hash) → secrets.
export { parseDocuments } from './parse.js';
export type { ParsedDocument, ParseOptions, SourcePosition } from './parse.js';
export { type ValidatedManifest, validateManifest, validateApplyRequest, prefixErrors, tidyErrors, errorCount, reportAjvErrors, summariseErrors } from './validate.js';
export { capReportedErrors, MAX_REPORTED_ERRORS } from './error-cap.js';
export type { ApplyRequest, ApplyRequestValidation, ManifestValidation } from './validate.js';
export { normaliseManifest, normalisedSpecHash, stableStringify, specHash } from './normalise.js';
export {
  MASK,
  secretPointers,
  secretPathPatterns,
  maskManifest,
  splitSecrets,
  joinSecrets,
  restoreMaskedSecrets,
} from './secrets.js';
export type { SplitSecrets } from './secrets.js';
export { valueAt, toPointer, parsePointer, escapeSegment, comparePointers } from './pointer.js';
export { SUPPORTED_TYPES, SCHEMAS_DIR, remoteServerSchema, applyRequestSchema } from './schemas.js';
export type { SchemaObject } from './schemas.js';
