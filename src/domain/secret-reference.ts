// The syntax of secret references: `${env:NAME}` or `${file:PATH}`, alone or inside a secret value.
export const SECRET_REFERENCE = /\$\{(env|file):([^}]*)\}/g;

export function hasSecretReference(value: string): boolean {
  return new RegExp(SECRET_REFERENCE.source).test(value);
}

/** Replaces secret references with their values (the reconciler's resolver reads env and files). */
export interface SecretResolver {
  /** Answers the value with every reference replaced; throws ReconcileError(SecretNotFound). */
  resolve(value: string): string;
}

/** A resolver that leaves values as they are (for callers that never see references). */
export const literalSecrets: SecretResolver = { resolve: (value) => value };
