// oidc-provider ships no type declarations: the tests that run it as an authorization server use it untyped.
declare module 'oidc-provider' {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const Provider: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type Provider = any;
  export default Provider;
}
