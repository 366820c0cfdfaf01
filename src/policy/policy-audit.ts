// The audit of stored servers against the admission policies: when a policy is created, changed or
// deleted (its reconcile asks, after its batch committed), every server is reviewed again, off the
// reconcile workers, a page of servers at a time; a server whose spec changed since is reviewed alone when
// its reconcile asks. The verdicts of the servers a policy matches live in memory (nothing of the others),
// like discovery records: the server reconciler reads them synchronously into
// the PolicyCompliant condition (nothing of a server is deleted or changed), each policy's status gets a
// summary (matched, violating, the first violations) and the metrics count violations per policy. A
// restart audits once (the leader work starts it).
import { isoTime, systemClock, type Clock } from '../domain/clock.js';
import { ConditionReason } from '../domain/condition-reasons.js';
import type { Logger } from '../domain/logger.js';
import type { McpServerManifest } from '../domain/manifest.js';
import { policyMatches, type AdmissionPolicyManifest } from '../domain/policy.js';
import type { ConditionStatus, McpServerResource, ResourceStatus } from '../domain/resource.js';
import { describeVerdict, type Admission, type PolicyVerdict } from './admission.js';

/** The condition type the audit sets on each server a policy matches. */
export const POLICY_COMPLIANT = 'PolicyCompliant';

/** What a policy's status says of the last audit (status.audit). */
export interface PolicyAuditSummary {
  /** The generation of the policy this audit used. */
  observedGeneration: number;
  /** Servers the policy matches. */
  matched: number;
  /** Of them, servers that break at least one of its rules. */
  violating: number;
  /** The first MAX_LISTED_VIOLATIONS broken rules: server, rule index, message. */
  violations: { server: string; rule: number; message: string }[];
  auditedAt: string;
}

export const MAX_LISTED_VIOLATIONS = 50;

interface ComplianceRecord {
  specHash: string;
  /** The policies (names) that match the server. */
  matched: string[];
  verdicts: PolicyVerdict[];
}

/** The PolicyCompliant condition of a server, or `remove` (no policy matches it), or undefined (keep the stored one). */
export type ComplianceCondition = { status: ConditionStatus; reason: string; message: string } | 'remove' | undefined;

export interface PolicyAuditorOptions {
  admission: Admission;
  /** The tenant's policies as stored (their generation goes into their summary). */
  listPolicies: () => Promise<McpServerResource[]>;
  /**
   * Every server of the tenant, a page at a time (masked secrets are enough: rules see them masked). An
   * audit holds one page, never the whole fleet: what it keeps of a server is its verdicts, and only when a
   * policy matches it.
   */
  listServers: () => AsyncIterable<McpServerResource[]>;
  /** Writes a policy's status with this summary (dropped when the policy changed meanwhile). */
  writeSummary: (policy: McpServerResource, status: ResourceStatus) => Promise<void>;
  /** Reconciles a server again (its PolicyCompliant condition changed). */
  enqueue: (key: string) => void;
  /** After an audit for changed policies: files a rule refused are read again. Absent: nothing. */
  policiesChanged?: () => void;
  clock?: Clock;
  logger?: Logger;
}

export class PolicyAuditor {
  private policies: { resource: McpServerResource; manifest: AdmissionPolicyManifest }[] | undefined;
  private records = new Map<string, ComplianceRecord>();
  /** The chain every audit runs on, one at a time (the evaluator is serial anyway). */
  private chain: Promise<void> = Promise.resolve();
  private refreshQueued = false;
  private readonly single = new Map<string, McpServerResource>();
  private readonly clock: Clock;

  constructor(private readonly options: PolicyAuditorOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /**
   * A policy's reconcile: audits every server again unless the stored policies are the ones audited last.
   * Resolves when that audit finished.
   */
  policyChanged(): Promise<void> {
    // On the chain, so it compares with what the audit before it loaded.
    return this.run(async () => {
      const stored = await this.options.listPolicies();
      const known = this.policies;
      const same =
        known !== undefined &&
        known.length === stored.length &&
        stored.every((p) => known.some((k) => k.resource.id === p.id && k.resource.specHash === p.specHash && k.resource.generation === p.generation));
      if (!same) {
        await this.auditAll();
        this.options.policiesChanged?.();
      }
    });
  }

  /** Audits every server against the stored policies (coalesced: one waiting refresh at most). */
  refresh(): Promise<void> {
    if (this.refreshQueued) return this.chain;
    this.refreshQueued = true;
    return this.run(async () => {
      this.refreshQueued = false;
      await this.auditAll();
    });
  }

  /** Violations per policy, for the metrics. */
  violationsByPolicy(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const p of this.policies ?? []) counts.set(p.manifest.name, 0);
    for (const record of this.records.values()) {
      if (record.verdicts.length === 0) continue;
      for (const policy of new Set(record.verdicts.map((v) => v.policy))) counts.set(policy, (counts.get(policy) ?? 0) + 1);
    }
    return counts;
  }

  /** The server reconciler's question: the PolicyCompliant condition of the resource as it is stored. */
  condition(resource: McpServerResource): ComplianceCondition {
    const policies = this.policies;
    if (policies === undefined) return undefined;
    const matched = policies.filter((p) => policyMatches(p.manifest, resource.manifest.type, resource.accountId));
    if (matched.length === 0) return 'remove';
    const record = this.records.get(resource.fqn);
    if (!record || record.specHash !== resource.specHash) {
      this.auditOne(resource);
      return { status: 'Unknown', reason: ConditionReason.PolicyAuditPending, message: 'Being audited against the admission policies.' };
    }
    if (record.verdicts.length === 0) {
      return { status: 'True', reason: ConditionReason.PolicyCompliant, message: `Keeps every rule of the admission policies that match it: ${record.matched.join(', ')}.` };
    }
    const shown = record.verdicts.slice(0, 5).map(describeVerdict);
    const more = record.verdicts.length > shown.length ? `; and ${record.verdicts.length - shown.length} more` : '';
    return { status: 'False', reason: ConditionReason.PolicyViolation, message: `Breaks ${shown.join('; ')}${more}.` };
  }

  /** Waits for the audits queued now (tests, close). */
  idle(): Promise<void> {
    return this.chain;
  }

  private run(work: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(work).catch((err: unknown) => {
      this.options.logger?.error({ err: err instanceof Error ? err.message : String(err) }, 'the audit of servers against admission policies failed');
    });
    return this.chain;
  }

  private auditOne(resource: McpServerResource): void {
    const queued = this.single.size > 0;
    this.single.set(resource.fqn, resource);
    if (queued) return;
    void this.run(async () => {
      const batch = [...this.single.values()];
      this.single.clear();
      for (const r of batch) {
        const record = await this.review(r);
        if (record.matched.length > 0) this.records.set(r.fqn, record);
        else this.records.delete(r.fqn);
        this.options.enqueue(r.fqn);
      }
    });
  }

  /** Reviews one server (a runaway policy is paused by Admission, so it costs one deadline, not one per server). */
  private async review(server: McpServerResource): Promise<ComplianceRecord> {
    const policies = (this.policies ?? []).map((p) => p.manifest);
    const matched = policies.filter((p) => policyMatches(p, server.manifest.type, server.accountId));
    const verdicts = matched.length === 0
      ? []
      : await this.options.admission.reviewAgainst(matched, {
          object: server.manifest as McpServerManifest,
          oldObject: undefined,
          accountId: server.accountId,
          request: { subject: server.updatedBy.subjectId, source: 'audit', dryRun: false },
        });
    return { specHash: server.specHash, matched: matched.map((p) => p.name), verdicts };
  }

  private async auditAll(): Promise<void> {
    const stored = await this.options.listPolicies();
    this.policies = stored.map((resource) => ({ resource, manifest: resource.manifest as unknown as AdmissionPolicyManifest }));
    // The verdicts of the audit before answer meanwhile (no condition flaps to Unknown); swapped at the end.
    const before = this.records;
    const next = new Map<string, ComplianceRecord>();
    const changed: string[] = [];
    const summaries = this.policies.map(({ resource, manifest }) => ({ resource, name: manifest.name, matched: 0, violating: 0, violations: [] as PolicyAuditSummary['violations'] }));
    for await (const page of this.options.listServers()) {
      for (const server of page) {
        const record = await this.review(server);
        if (record.matched.length > 0) next.set(server.fqn, record);
        // Reconciled again only when its condition changes (at the first audit: when it has or needs one).
        const old = before.get(server.fqn);
        if (old ? !sameRecord(old, record) : record.matched.length > 0 || server.status.conditions.some((c) => c.type === POLICY_COMPLIANT)) changed.push(server.fqn);
        for (const summary of summaries) {
          if (!record.matched.includes(summary.name)) continue;
          summary.matched++;
          const broken = record.verdicts.filter((v) => v.policy === summary.name);
          if (broken.length > 0) summary.violating++;
          for (const v of broken) if (summary.violations.length < MAX_LISTED_VIOLATIONS) summary.violations.push({ server: server.name, rule: v.rule, message: v.message });
        }
      }
    }
    this.records = next;
    for (const key of changed) this.options.enqueue(key);
    const now = isoTime(this.clock.now());
    for (const { resource, matched, violating, violations } of summaries) {
      const audit: PolicyAuditSummary = { observedGeneration: resource.generation, matched, violating, violations, auditedAt: now };
      await this.options.writeSummary(resource, { ...resource.status, observedGeneration: resource.generation, audit } as ResourceStatus);
    }
  }
}

function sameRecord(a: ComplianceRecord, b: ComplianceRecord): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
