// The syntax of secret references: `${env:NAME}` or `${file:PATH}`, alone or inside a secret value.
export const SECRET_REFERENCE = /\$\{(env|file):([^}]*)\}/g;

export function hasSecretReference(value: string): boolean {
  return new RegExp(SECRET_REFERENCE.source).test(value);
}
