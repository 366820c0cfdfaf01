// Admission: the rules of every admission policy that matches a server, evaluated against one write of it
// (intake) or its stored manifest (the audit). Rules see secret values masked (MASK); what they answer
// names the policy, the rule and its message, never a value of the manifest.
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
  evaluator: PolicyEvaluator;
}

export interface ReviewInput {
  object: McpServerManifest;
  oldObject: McpServerManifest | undefined;
  accountId: string;
  request: AdmissionRequest;
}

export class Admission {
  constructor(private readonly options: AdmissionOptions) {}

  policies(): Promise<AdmissionPolicyManifest[]> {
    return this.options.policies();
  }

  /** The rules the write breaks, of every policy that matches it (deny first, then warn, then audit). */
  async review(input: ReviewInput): Promise<PolicyVerdict[]> {
    return this.reviewAgainst(await this.options.policies(), input);
  }

  /** review() against these policies (the audit reads them once for every server). */
  async reviewAgainst(policies: readonly AdmissionPolicyManifest[], input: ReviewInput): Promise<PolicyVerdict[]> {
    const matched = policies.filter((p) => policyMatches(p, input.object.type, input.accountId));
    if (matched.length === 0) return [];
    const rules = matched.flatMap((policy) => policy.rules.map((rule, index) => ({ policy, rule, index })));
    const outcomes = await this.options.evaluator.evaluate(
      rules.map((r) => r.rule.expression),
      { object: maskManifest(input.object), oldObject: input.oldObject ? maskManifest(input.oldObject) : null, request: input.request },
    );
    const order: Record<PolicyAction, number> = { deny: 0, warn: 1, audit: 2 };
    return rules
      .flatMap((r, i) => {
        const outcome = outcomes[i]!;
        if (outcome.passed) return [];
        const verdict: PolicyVerdict = { policy: r.policy.name, action: r.policy.action, rule: r.index, message: r.rule.message };
        if (outcome.error === undefined) return [verdict];
        return [outcome.timedOut ? { ...verdict, error: outcome.error, timedOut: true as const } : { ...verdict, error: outcome.error }];
      })
      .sort((a, b) => order[a.action] - order[b.action]);
  }
}
