// Admission: the rules of every admission policy that matches a server, evaluated against one write of it
// (intake) or its stored manifest (the audit). Rules see secret values masked (MASK); what they answer
// names the policy, the rule and its message, never a value of the manifest.
import { systemClock, type Clock } from '../domain/clock.js';
import type { McpServerManifest } from '../domain/manifest.js';
import { policyMatches, type AdmissionPolicyManifest, type PolicyAction } from '../domain/policy.js';
import { maskManifest } from '../manifest/index.js';
import type { PolicyEvaluator } from './policy-evaluator.js';

/** How a write came in, as rules see it in `request.source` (`audit`: the audit of a stored server). */
export type AdmissionSource = 'api' | 'file' | 'gaia' | 'rollback' | 'audit';

export interface AdmissionRequest {
  /** The subject id of the writer. */
  subject: string;
  source: AdmissionSource;
  dryRun: boolean;
}

/** One rule a server breaks. */
export interface PolicyVerdict {
  policy: string;
  action: PolicyAction;
  /** The rule's index in the policy's rules (/rules/N). */
  rule: number;
  /** The rule's message. */
  message: string;
  /** Set when the rule could not be evaluated (an error, a missing field, the deadline): why. A broken rule either way. */
  error?: string;
  /** The rules were not answered within --policy-evaluation-timeout. */
  timedOut?: true;
}

/** The verdict as one line: `policy "p", rule 0: message` (and why it could not be evaluated). */
export function describeVerdict(v: PolicyVerdict): string {
  return `policy "${v.policy}", rule ${v.rule}: ${v.message}` + (v.error !== undefined ? ` (the rule could not be evaluated: ${v.error})` : '');
}

export interface AdmissionOptions {
  /** The tenant's policies now. */
  policies: () => Promise<AdmissionPolicyManifest[]>;
  /**
   * A text that differs whenever a policy of the tenant was created, changed or removed since it was
   * last answered, read from the store at each call (so a write through another replica counts as much as
   * one through this process): see policy-scope-version.ts. With it, policies() is read again only when the
   * text changed; without it, at every review.
   */
  policiesVersion?: () => Promise<string>;
  evaluator: PolicyEvaluator;
  /** For the pause of a slow policy. */
  clock?: Clock;
}

export interface ReviewInput {
  object: McpServerManifest;
  oldObject: McpServerManifest | undefined;
  accountId: string;
  request: AdmissionRequest;
}

/** How long a policy whose rules ran past the deadline is not evaluated again (unless it changes). */
export const SLOW_POLICY_PAUSE_MS = 60_000;

export class Admission {
  private readonly clock: Clock;
  /** Policies (by name and rules) whose rules ran past the deadline: when, and on which server. */
  private readonly slow = new Map<string, { at: number; server: string }>();
  /** The policies last read, and the version they were read at (see AdmissionOptions.policiesVersion). */
  private cached: { version: string; policies: Promise<AdmissionPolicyManifest[]> } | undefined;
  /** Each policy's key in `slow` (its name and rules), made once per policy object read. */
  private readonly keys = new WeakMap<AdmissionPolicyManifest, string>();

  constructor(private readonly options: AdmissionOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /**
   * The tenant's policies now: read again when the scope's version changed, else the ones read last.
   * They are read after the version, so what is kept is never older than the version it is kept under
   * (a change between the two reads is read again at the next call).
   */
  async policies(): Promise<AdmissionPolicyManifest[]> {
    const versionOf = this.options.policiesVersion;
    if (!versionOf) return this.options.policies();
    const version = await versionOf();
    const cached = this.cached;
    if (cached?.version === version) return cached.policies;
    const policies = this.options.policies();
    this.cached = { version, policies };
    policies.catch(() => {
      if (this.cached?.policies === policies) this.cached = undefined;
    });
    return policies;
  }

  /** The rules the write breaks, of every policy that matches it (deny first, then warn, then audit). */
  async review(input: ReviewInput): Promise<PolicyVerdict[]> {
    return this.reviewAgainst(await this.policies(), input);
  }

  /**
   * review() against these policies (the audit reads them once for every server). Each policy is one
   * request to the evaluator, under its deadline; a policy whose rules ran past it is not evaluated again
   * for SLOW_POLICY_PAUSE_MS (or until it changes): its rules count as broken, saying so. So a runaway
   * rule costs one deadline a minute, not one per write of a batch (a watched directory's unit waits for
   * it) or per server of an audit.
   */
  async reviewAgainst(policies: readonly AdmissionPolicyManifest[], input: ReviewInput): Promise<PolicyVerdict[]> {
    const matched = policies.filter((p) => policyMatches(p, input.object.type, input.accountId));
    if (matched.length === 0) return [];
    const context = { object: maskManifest(input.object), oldObject: input.oldObject ? maskManifest(input.oldObject) : null, request: input.request };
    const verdicts: PolicyVerdict[] = [];
    for (const policy of matched) {
      const key = this.keyOf(policy);
      const now = this.clock.now();
      const slow = this.slow.get(key);
      const broken = (index: number): PolicyVerdict => ({ policy: policy.name, action: policy.action, rule: index, message: policy.rules[index]!.message });
      if (slow && now - slow.at < SLOW_POLICY_PAUSE_MS) {
        const error = `not evaluated: the policy's rules ran past the deadline on server "${slow.server}" within the last ${SLOW_POLICY_PAUSE_MS / 1000} s`;
        verdicts.push(...policy.rules.map((_, index) => ({ ...broken(index), error, timedOut: true as const })));
        continue;
      }
      if (slow) this.slow.delete(key);
      const outcomes = await this.options.evaluator.evaluate(policy.rules.map((r) => r.expression), context);
      if (outcomes.some((o) => o.timedOut)) this.slow.set(key, { at: this.clock.now(), server: input.object.name });
      outcomes.forEach((outcome, index) => {
        if (outcome.passed) return;
        if (outcome.error === undefined) verdicts.push(broken(index));
        else verdicts.push(outcome.timedOut ? { ...broken(index), error: outcome.error, timedOut: true } : { ...broken(index), error: outcome.error });
      });
    }
    const order: Record<PolicyAction, number> = { deny: 0, warn: 1, audit: 2 };
    return verdicts.sort((a, b) => order[a.action] - order[b.action]);
  }

  private keyOf(policy: AdmissionPolicyManifest): string {
    let key = this.keys.get(policy);
    if (key === undefined) this.keys.set(policy, (key = `${policy.name}\u0000${JSON.stringify(policy.rules)}`));
    return key;
  }
}
