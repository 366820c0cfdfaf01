// The syntax of secret references: `${env:NAME}` or `${file:PATH}`, alone or inside a secret value.
export const SECRET_REFERENCE = /\$\{(env|file):([^}]*)\}/g;

export function hasSecretReference(value: string): boolean {
  return new RegExp(SECRET_REFERENCE.source).test(value);
}

/** A whole value that is one reference, optionally after an HTTP auth scheme (`Bearer ${env:TOKEN}`). */
const REFERENCE_ONLY = /^(?:(?:Bearer|Basic|Token|Bot) )?\$\{(?:env|file):[^}]*\}$/;

/**
 * Whether a secret field's value is only a reference: it names where the secret is read from and holds
 * none itself, so it is shown as written (an operator needs to see which variable a server reads).
 * Anything else in a secret field, a literal alone or beside a reference, stays masked.
 */
export function isReferenceOnly(value: unknown): value is string {
  return typeof value === 'string' && REFERENCE_ONLY.test(value);
}

/** Replaces secret references with their values (the reconciler's resolver reads env and files). */
export interface SecretResolver {
  /** Answers the value with every reference replaced; throws ReconcileError(SecretNotFound). */
  resolve(value: string): string;
}

/** A resolver that leaves values as they are (for callers that never see references). */
export const literalSecrets: SecretResolver = { resolve: (value) => value };
