// The audit of stored servers reads them a page at a time and keeps verdicts only of the servers a policy
// matches: a fleet of thousands is never held whole (not at the leader's start, not at a policy change),
// and what the audit keeps grows with the matched servers, not the fleet. The results are those of one
// pass over every server: each policy's summary, the PolicyCompliant condition, the violations metric, and
// the servers whose condition changes reconciled again.
import { Admission } from '../../src/policy/admission.js';
import { PolicyAuditor, POLICY_COMPLIANT } from '../../src/policy/policy-audit.js';
import { PolicyEvaluator } from '../../src/policy/policy-evaluator.js';
import { initialStatus, type McpServerResource, type ResourceStatus } from '../../src/domain/resource.js';
import type { AdmissionPolicyManifest } from '../../src/domain/policy.js';

const PAGE = 1000;
const FLEET = 2_500;

function server(i: number, options: { account?: string; owner?: boolean; staleCondition?: boolean } = {}): McpServerResource {
  const name = `s-${i}`;
  const status = initialStatus();
  if (options.staleCondition) status.conditions.push({ type: POLICY_COMPLIANT, status: 'True', reason: 'PolicyCompliant', message: 'old', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 } as ResourceStatus['conditions'][number]);
  return {
    id: `id-${i}`,
    tenant: 'default',
    name,
    fqn: `default:mcp-server:${name}`,
    manifest: { type: 'mcp-server/remote', name, url: 'https://mcp.example/mcp', tags: options.owner ? { owner: 'team-a' } : {} } as unknown as McpServerResource['manifest'],
    specHash: `hash-${i}`,
    generation: 1,
    resourceVersion: i + 1,
    source: { kind: 'api' },
    metadata: {},
    createdBy: { subjectId: 'user:a', subjectType: 'user', subjectSlug: 'a', subjectDisplayName: 'A' },
    updatedBy: { subjectId: 'user:a', subjectType: 'user', subjectSlug: 'a', subjectDisplayName: 'A' },
    accountId: options.account ?? 'default',
    createdAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
    status,
  } as McpServerResource;
}

const ownerPolicy: AdmissionPolicyManifest = {
  type: 'mcp-policy/admission',
  name: 'acme-owners',
  description: 'audit policy',
  action: 'audit',
  match: { accounts: ['acme'] },
  rules: [{ expression: 'has(object.tags.owner)', message: 'Every server needs an owner tag' }],
} as unknown as AdmissionPolicyManifest;

function policyResource(): McpServerResource {
  return { ...server(-1), name: 'acme-owners', fqn: 'default:mcp-policy:acme-owners', manifest: ownerPolicy as unknown as McpServerResource['manifest'], generation: 3 };
}

let evaluator: PolicyEvaluator;
afterEach(async () => {
  await evaluator.close();
});

test('an audit of 2,500 servers reads them 1,000 at a time and keeps the verdicts of the 10 a policy matches', async () => {
  evaluator = new PolicyEvaluator();
  // Servers 0..9 are in account acme (a policy matches them); even ones have an owner tag. Server 2,000 has a
  // PolicyCompliant condition left from a policy since deleted.
  const fleet = Array.from({ length: FLEET }, (_, i) => server(i, i < 10 ? { account: 'acme', owner: i % 2 === 0 } : i === 2000 ? { staleCondition: true } : {}));
  const policies = [policyResource()];
  const summaries: unknown[] = [];
  const enqueued: string[] = [];
  const requested: number[] = [];
  const auditor = new PolicyAuditor({
    admission: new Admission({ policies: async () => [ownerPolicy], evaluator }),
    listPolicies: async () => policies,
    async *listServers() {
      for (let offset = 0; offset < fleet.length; offset += PAGE) {
        requested.push(offset);
        yield fleet.slice(offset, offset + PAGE);
      }
    },
    writeSummary: async (_policy, status) => {
      summaries.push((status as unknown as { audit: unknown }).audit);
    },
    enqueue: (key) => enqueued.push(key),
  });
  await auditor.refresh();

  expect(requested).toEqual([0, 1000, 2000]);
  // The summary counts every matched server across the pages.
  expect(summaries).toEqual([
    {
      observedGeneration: 3,
      matched: 10,
      violating: 5,
      violations: [1, 3, 5, 7, 9].map((i) => ({ server: `s-${i}`, rule: 0, message: 'Every server needs an owner tag' })),
      auditedAt: expect.any(String),
    },
  ]);
  expect(auditor.violationsByPolicy()).toEqual(new Map([['acme-owners', 5]]));
  // Reconciled again: the matched servers (they need the condition) and the one whose condition is stale.
  expect(enqueued.sort()).toEqual([...Array.from({ length: 10 }, (_, i) => `default:mcp-server:s-${i}`), 'default:mcp-server:s-2000'].sort());
  expect(auditor.condition(fleet[1]!)).toEqual({ status: 'False', reason: 'PolicyViolation', message: expect.stringContaining('Every server needs an owner tag') });
  expect(auditor.condition(fleet[2]!)).toMatchObject({ status: 'True', reason: 'PolicyCompliant' });
  expect(auditor.condition(fleet[500]!)).toBe('remove');

  // Its reconcile removes the stale condition; a second audit with nothing changed then reconciles nothing again.
  fleet[2000]!.status.conditions = [];
  enqueued.length = 0;
  await auditor.refresh();
  expect(enqueued).toEqual([]);

  // The policy deleted: every server it matched is reconciled again (its condition goes), and nothing is kept.
  policies.length = 0;
  await auditor.refresh();
  expect(enqueued.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `default:mcp-server:s-${i}`).sort());
  expect(auditor.violationsByPolicy()).toEqual(new Map());
});
