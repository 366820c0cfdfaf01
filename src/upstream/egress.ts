// The egress policy: which addresses the control plane may open a connection to (discovery, OAuth
// token requests, the gateway's upstream calls). It is checked on the address a connection is actually
// made to, after DNS, inside the connector of the per-server undici Agent: a name that resolves (or
// re-resolves, DNS rebinding) into a denied range is refused, and so is every redirect hop, because
// each hop connects through the same Agent.
//
// Rules are CIDR ranges. The most specific matching rule decides (the longest prefix); on equal
// prefixes deny wins. An address no rule matches is allowed. So `--egress-allow` carves exceptions out
// of denied ranges, and an allow list is `--egress-deny 0.0.0.0/0 --egress-deny ::/0 --egress-allow …`.
// The link-local ranges (cloud metadata endpoints live there) are always denied unless allowed.
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { buildConnector } from 'undici';

/** Link-local: 169.254.169.254 and friends (AWS, GCP, Azure metadata), and IPv6 link-local. */
export const DEFAULT_EGRESS_DENY: readonly string[] = ['169.254.0.0/16', 'fe80::/10'];

export interface Cidr {
  family: 4 | 6;
  bytes: Uint8Array;
  prefix: number;
  /** Canonical text, as given (trimmed). */
  text: string;
}

/** An IPv4 or IPv6 address as bytes; IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes IPv4. undefined if not an address. */
export function addressBytes(address: string): { family: 4 | 6; bytes: Uint8Array } | undefined {
  let a = address.trim();
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  const zone = a.indexOf('%');
  if (zone !== -1) a = a.slice(0, zone);
  const kind = isIP(a);
  if (kind === 4) return { family: 4, bytes: Uint8Array.from(a.split('.').map(Number)) };
  if (kind !== 6) return undefined;
  const bytes = ipv6Bytes(a);
  if (!bytes) return undefined;
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? { family: 4, bytes: bytes.slice(12) } : { family: 6, bytes };
}

function ipv6Bytes(text: string): Uint8Array | undefined {
  let head = text;
  let tail4: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    // An embedded IPv4 tail: ::ffff:1.2.3.4
    tail4 = text.slice(lastColon + 1).split('.').map(Number);
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = parse(halves[0] ?? '');
  const right = halves.length === 2 ? parse(halves[1] ?? '') : [];
  const fill = halves.length === 2 ? 8 - left.length - right.length : 0;
  const groups = [...left, ...new Array<number>(Math.max(0, fill)).fill(0), ...right];
  if (groups.length !== 8 || groups.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) return undefined;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  if (tail4.length === 4) out.set(tail4, 12);
  return out;
}

/** "10.0.0.0/8", "fd00::/8", or a single address (a /32 or /128). Throws with a message naming the text. */
export function parseCidr(text: string): Cidr {
  const t = text.trim();
  const slash = t.indexOf('/');
  const addr = slash === -1 ? t : t.slice(0, slash);
  const parsed = addressBytes(addr);
  // A mapped IPv6 range keeps its IPv6 prefix length; map it down to the IPv4 one.
  const mappedV6 = parsed?.family === 4 && isIP(addr.replace(/^\[|\]$/g, '')) === 6;
  const max = parsed?.family === 4 ? 32 : 128;
  let prefix = max;
  if (slash !== -1) {
    const p = t.slice(slash + 1);
    prefix = /^\d{1,3}$/.test(p) ? Number(p) : NaN;
    if (mappedV6) prefix -= 96;
  }
  if (!parsed || !Number.isInteger(prefix) || prefix < 0 || prefix > max) {
    throw new Error(`"${text}" is not a CIDR range; write e.g. 10.0.0.0/8, 169.254.169.254/32 or fd00::/8.`);
  }
  return { family: parsed.family, bytes: parsed.bytes, prefix, text: t };
}

function contains(cidr: Cidr, family: 4 | 6, bytes: Uint8Array): boolean {
  if (cidr.family !== family) return false;
  let bits = cidr.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((cidr.bytes[i] ?? 0) & mask) !== ((bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}

export type EgressDecision = { allowed: true; rule?: string } | { allowed: false; rule: string };

export interface EgressPolicyOptions {
  /** Added to DEFAULT_EGRESS_DENY. */
  deny?: readonly string[];
  allow?: readonly string[];
}

export class EgressPolicy {
  readonly deny: readonly Cidr[];
  readonly allow: readonly Cidr[];

  constructor(options: EgressPolicyOptions = {}) {
    this.deny = [...new Set([...DEFAULT_EGRESS_DENY, ...(options.deny ?? [])])].map(parseCidr);
    this.allow = (options.allow ?? []).map(parseCidr);
  }

  /** Whether a connection to `address` (an IP address, not a name) may be opened. Not an address: denied. */
  check(address: string): EgressDecision {
    const parsed = addressBytes(address);
    if (!parsed) return { allowed: false, rule: 'not an IP address' };
    let best: { allowed: boolean; rule: Cidr } | undefined;
    const consider = (rule: Cidr, allowed: boolean) => {
      if (!contains(rule, parsed.family, parsed.bytes)) return;
      if (!best || rule.prefix > best.rule.prefix || (rule.prefix === best.rule.prefix && !allowed)) best = { allowed, rule };
    };
    for (const rule of this.allow) consider(rule, true);
    for (const rule of this.deny) consider(rule, false);
    if (!best) return { allowed: true };
    return best.allowed ? { allowed: true, rule: best.rule.text } : { allowed: false, rule: best.rule.text };
  }
}

/** The policy every connection gets when none is configured: the link-local ranges denied. */
export const DEFAULT_EGRESS_POLICY = new EgressPolicy();

/** A connection refused by the egress policy. The message names the host, the address and the rule. */
export class EgressDeniedError extends Error {
  readonly code = 'EGRESS_DENIED';

  constructor(
    readonly host: string,
    readonly address: string,
    readonly rule: string,
  ) {
    super(
      host === address
        ? `egress to ${address} is denied by the egress policy (${rule})`
        : `egress to ${host} is denied by the egress policy: it resolves to ${address} (${rule})`,
    );
    this.name = 'EgressDeniedError';
  }
}

/** One clause for a status message: what was refused and by which rule; says how to change it. */
export function describeEgressDenial(denied: EgressDeniedError): string {
  const what =
    denied.host === denied.address ? `${denied.address} is in` : `${denied.host} resolves to ${denied.address}, in`;
  return `${what} a range the egress policy denies (${denied.rule}); use another URL, or an operator may allow it with --egress-allow`;
}

/** The EgressDeniedError somewhere in an error's cause chain (undici wraps it: TypeError "fetch failed" → cause). */
export function egressDenial(error: unknown): EgressDeniedError | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0 && seen.size < 32) {
    const e = queue.shift();
    if (e === null || e === undefined || seen.has(e)) continue;
    seen.add(e);
    if (e instanceof EgressDeniedError) return e;
    if (typeof e === 'object') {
      const { cause, errors } = e as { cause?: unknown; errors?: unknown };
      if (cause !== undefined) queue.push(cause);
      if (Array.isArray(errors)) queue.push(...errors);
    }
  }
  return undefined;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
type Resolve = (hostname: string, options: LookupOptions & { all: true }, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

/**
 * A `lookup` for net.connect / tls.connect that answers only allowed addresses; when every address a
 * name resolves to is denied, it fails with EgressDeniedError (before any packet is sent to them).
 */
export function egressLookup(policy: EgressPolicy, resolve: Resolve = dnsLookup as unknown as Resolve) {
  return (hostname: string, options: LookupOptions | number | undefined, callback: LookupCallback): void => {
    const opts: LookupOptions = typeof options === 'number' ? { family: options } : { ...(options ?? {}) };
    resolve(hostname, { ...opts, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const allowed = addresses.filter((a) => policy.check(a.address).allowed);
      if (allowed.length === 0) {
        const first = addresses[0];
        const decision = first ? policy.check(first.address) : undefined;
        const rule = decision && !decision.allowed ? decision.rule : 'no address';
        return callback(new EgressDeniedError(hostname, first?.address ?? '(none)', rule), []);
      }
      if (opts.all) return callback(null, allowed);
      const one = allowed[0]!;
      callback(null, one.address, one.family);
    });
  };
}

type ConnectorOptions = Parameters<typeof buildConnector>[0];
export type Connector = ReturnType<typeof buildConnector>;

/**
 * undici's own connector with the policy in front: an IP-literal host is checked here (net.connect does
 * not look those up), a name through egressLookup. Use as `new Agent({ connect: egressConnector(...) })`.
 */
export function egressConnector(policy: EgressPolicy, options: ConnectorOptions = {}): Connector {
  const base = buildConnector({ ...options, lookup: egressLookup(policy) } as ConnectorOptions);
  const connector: Connector = (opts, callback) => {
    const host = opts.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0) {
      const decision = policy.check(host);
      if (!decision.allowed) {
        queueMicrotask(() => callback(new EgressDeniedError(host, host, decision.rule), null));
        return;
      }
    }
    return base(opts, callback);
  };
  return connector;
}
