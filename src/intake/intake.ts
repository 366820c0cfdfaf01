// The one pipeline every source of desired state calls (PUT, files, the GAIA-style API):
// validate → normalise → restore masked secrets → plan → admission policies → (dryRun stops here) →
// commit → enqueue. An mcp-policy/admission manifest takes the same pipeline into the policies' scope.
// Everything runs synchronously, so plan and commit see the same stored state.
import type { Clock } from '../domain/clock.js';
import { isoTime, systemClock } from '../domain/clock.js';
import { READY, RECONCILING, setCondition } from '../domain/conditions.js';
import {
  ConflictError,
  NotFoundError,
  PolicyViolationError,
  PreconditionFailedError,
  ValidationError,
  type FieldError,
} from '../domain/errors.js';
import { isVirtualManifest, type McpServerManifest } from '../domain/manifest.js';
import type { Principal } from '../domain/principal.js';
import {
  describeSource,
  initialStatus,
  serverFqn,
  type McpServerResource,
  type ResourceStatus,
  type SourceRef,
} from '../domain/resource.js';
import {
  MASK,
  normalisedSpecHash,
  normaliseManifest,
  restoreMaskedSecrets,
  secretPointers,
  specHash,
  summariseErrors,
  tidyErrors,
  validateManifest,
  type ValidatedManifest,
  valueAt,
} from '../manifest/index.js';
import { planApply, type DiffOp, type PlanAction } from '../plan/index.js';
import {
  WriteConflictError,
  type NewResource,
  type ResourceReader,
  type ResourceUpdate,
  type ResourceWriter,
  type RevisionLog,
  type RevisionOrigin,
  type StoredAnswerTexts,
  type WriteEvent,
} from '../store/index.js';
import type { AccessPolicy } from './access-policy.js';
import { checkIfMatch } from './preconditions.js';
import { checkVirtualSources } from './virtual-sources.js';
import { ConditionReason } from '../domain/condition-reasons.js';
import { isAdmissionPolicy, policyFqn, policyScope, type AdmissionPolicyManifest } from '../domain/policy.js';
import { describeVerdict, type Admission, type AdmissionSource, type PolicyVerdict } from '../policy/admission.js';
import { EventReason } from '../domain/event-reasons.js';

/** How often a write that lost a race to another writer is planned again (see Intake.raced). */
const WRITE_TRIES = 3;

export interface ApplyInput {
  /**
   * The manifest as received, not yet validated. A secret the caller did not send must be the mask
   * (`********`), never a stored value copied in by a route: intake restores masked secrets from the stored
   * resource and only so knows them as kept, which a non-admin may not move to a new destination.
   */
  manifest: unknown;
  dryRun: boolean;
  /** Take over a resource managed by another source instead of answering 409. */
  force: boolean;
  /** undefined keeps the stored metadata. */
  metadata: Record<string, unknown> | undefined;
  source: SourceRef;
  principal: Principal;
  /** If-Match: the resourceVersion or the generation ETag the caller last saw ("*": the resource must exist). See preconditions.ts. */
  ifMatch?: string;
  /** Prefix for error pointers, e.g. "/manifest" when the manifest sits inside a request body. */
  errorPathPrefix?: string;
  /** A source may adopt a resource from one of its own earlier locations (a document moved between files). */
  mayAdopt?: (current: SourceRef) => boolean;
  /** Kept with the revision a new generation records: the route (GAIA, rollback), a file's line. */
  origin?: RevisionOrigin;
  /**
   * The account a create takes when the manifest names none (instead of the caller's first one): a
   * rollback that recreates a removed server gives the account it had.
   */
  account?: string;
}

export interface RollbackInput {
  /** The resource whose revision is applied again: a live one, or one removed within the retention. */
  resourceId: string;
  fqn: string;
  toGeneration: number;
  dryRun: boolean;
  principal: Principal;
  ifMatch?: string;
}

export interface ApplyResult {
  action: PlanAction;
  diff: DiffOp[];
  /** The resource after the call; for a dryRun, what it would be. */
  resource: McpServerResource;
  /** The stored resource before the call. */
  existing: McpServerResource | undefined;
  /** What the API answers for `existing` as stored, when it was read with it (see ResourceReader.getWithAnswer). */
  existingAnswer?: StoredAnswerTexts;
  dryRun: boolean;
  /**
   * Things a dryRun would have refused at commit (e.g. an ownership conflict), and the rules of admission
   * policies with action warn that the write breaks.
   */
  warnings: string[];
  /** The rules of admission policies the write breaks (warn and audit; deny refuses it). */
  admission: PolicyVerdict[];
}

export interface DeleteInput {
  fqn: string;
  source: SourceRef;
  principal: Principal;
  ifMatch?: string;
  force?: boolean;
}

export interface IntakeOptions {
  store: ResourceReader & ResourceWriter & Pick<RevisionLog, 'getRevision'>;
  tenant: string;
  policy: AccessPolicy;
  enqueue: (key: string) => void;
  clock?: Clock;
  newId?: () => string;
  /** Keys specHash (HMAC); the control plane derives it from its secret key. */
  specHashKey?: Uint8Array;
  /**
   * Refuses a manifest the control plane will not run, whoever sends it (PUT, files, the GAIA-style API):
   * throws ForbiddenError. Today: mcp-server/stdio commands not allowed by --allow-stdio / --stdio-allow.
   */
  admitManifest?: (manifest: McpServerManifest) => void;
  /**
   * Whether the file a resource came from no longer exists. Such a resource is managed by nobody (its
   * prune may be held back, see sources/prune-hold.ts), so the API may delete it. Absent: never.
   */
  fileGone?: (source: Extract<SourceRef, { kind: 'file' }>) => boolean;
  /**
   * Called after a write or a delete through another source took a resource over from the file that
   * declares it (force: true), once committed: that file is refused for the name from now on (after a
   * delete, until it stops declaring it). Absent: nothing.
   */
  takenFromFile?: (source: Extract<SourceRef, { kind: 'file' }>, taken: FileTakeover) => void;
  /** The tenant's admission policies, reviewed for every write of a server that changes it. Absent: none. */
  admission?: Admission;
}

/** A forced write or delete through the API of a resource a file declares (see IntakeOptions.takenFromFile). */
export interface FileTakeover {
  name: string;
  /** The subject who forced it. */
  by: string;
  /** The resource was deleted (not written). */
  deleted: boolean;
}

export class Intake {
  private readonly store: IntakeOptions['store'];
  private readonly tenant: string;
  private readonly policy: AccessPolicy;
  private readonly enqueue: (key: string) => void;
  private readonly clock: Clock;
  private readonly newId: () => string;
  private readonly specHashKey: Uint8Array | undefined;
  private readonly admitManifest: ((manifest: McpServerManifest) => void) | undefined;
  private readonly fileGone: IntakeOptions['fileGone'];
  private readonly takenFromFile: IntakeOptions['takenFromFile'];
  private readonly admission: Admission | undefined;

  constructor(options: IntakeOptions) {
    this.store = options.store;
    this.tenant = options.tenant;
    this.policy = options.policy;
    this.enqueue = options.enqueue;
    this.clock = options.clock ?? systemClock;
    this.newId = options.newId ?? (() => crypto.randomUUID());
    this.specHashKey = options.specHashKey;
    this.admitManifest = options.admitManifest;
    this.fileGone = options.fileGone;
    this.takenFromFile = options.takenFromFile;
    this.admission = options.admission;
  }

  fqnOf(name: string): string {
    return serverFqn(this.tenant, name);
  }

  /** Refuses (403) a caller who may not write at all; routes ask it before they look at a body. */
  authorizeWrite(principal: Principal): void {
    this.policy.authorizeWrite(principal);
  }

  async apply(input: ApplyInput): Promise<ApplyResult> {
    // Before any work on the manifest: validation of a large body costs far more than this check.
    this.policy.authorizeWrite(input.principal);
    const validated = validateManifest(input.manifest);
    if (!validated.ok) throw invalid(validated.errors, input.errorPathPrefix ?? '');
    return this.applyAuthorized(input, validated.manifest);
  }

  /**
   * apply() of a manifest validateManifest accepted already (a watched file's documents, validated where
   * the file was parsed): the same pipeline from normalisation on, without validating it again.
   */
  async applyValidated(input: ApplyInput & { manifest: ValidatedManifest }): Promise<ApplyResult> {
    this.policy.authorizeWrite(input.principal);
    return this.applyAuthorized(input, input.manifest);
  }

  private applyAuthorized(input: ApplyInput, manifest: ValidatedManifest): Promise<ApplyResult> {
    const prefix = input.errorPathPrefix ?? '';
    const normalised = normaliseManifest(manifest);
    if (isAdmissionPolicy(normalised)) return this.applyPolicy(input, normalised);
    this.admitManifest?.(normalised);
    const fqn = this.fqnOf(normalised.name);
    const keptSecrets = secretPointers(normalised).filter((p) => valueAt(normalised, p) === MASK);
    return this.raced(fqn, input.ifMatch, () => this.planAndCommit(input, normalised, fqn, keptSecrets, prefix));
  }

  /**
   * Runs a read → plan → commit until its commit finds the resource as it was read (the writes are
   * compare-and-swaps, see ResourceWriter): a write that lost a race to another writer is planned again
   * against what that writer left, at most WRITE_TRIES times, so no update is lost. A caller who sent
   * If-Match planned against what it read itself: it gets the 412 its precondition now fails with.
   */
  private async raced<T>(fqn: string, ifMatch: string | undefined, attempt: () => Promise<T>): Promise<T> {
    for (let tries = 1; ; tries++) {
      try {
        return await attempt();
      } catch (err) {
        if (!(err instanceof WriteConflictError)) throw err;
        if (ifMatch !== undefined) {
          throw new PreconditionFailedError(`If-Match: ${fqn} was changed by another write meanwhile; read the resource again, reapply your change and retry.`);
        }
        if (tries >= WRITE_TRIES) throw new ConflictError(`${fqn} kept changing while this write was planned (${WRITE_TRIES} tries); retry.`);
      }
    }
  }

  private async planAndCommit(input: ApplyInput, normalised: McpServerManifest, fqn: string, keptSecrets: string[], prefix: string): Promise<ApplyResult> {
    let existing: McpServerResource | undefined;
    let existingAnswer: StoredAnswerTexts | undefined;
    let desired: McpServerManifest;
    let hash: string;
    if (keptSecrets.length === 0) {
      // Nothing to restore, so the hash is known before the read; when the stored spec has it, the
      // stored manifest is this one and the store need not decode (nor decrypt) its own copy.
      desired = normalised;
      hash = normalisedSpecHash(normalised, this.specHashKey);
      // Read with its answer texts: an unchanged write (the GitOps steady state) answers those.
      const stored = await this.store.getWithAnswer(fqn, { known: { specHash: hash, manifest: normalised } });
      existing = stored?.resource;
      existingAnswer = stored?.answer;
    } else {
      existing = await this.store.get(fqn);
      // Only a caller who may read the stored resource gets its secrets restored: for anyone else the answer
      // must not depend on which secrets it holds (authorizeApply refuses them below anyway).
      // Normalised again: a manifest stored under an older spelling (a stdio server's top-level env) keeps its
      // secrets at the paths the canonical form has them.
      const restoreFrom = existing && this.policy.canRead(input.principal, existing) ? normaliseManifest(existing.manifest) : undefined;
      const restored = restoreMaskedSecrets(normalised, restoreFrom);
      if (restored.errors.length > 0) throw invalid(restored.errors, prefix);
      desired = restored.manifest;
      hash = specHash(desired, this.specHashKey);
    }

    // A create given an account (a removed server recreated) takes it unless the manifest names one; the
    // policy decides whether the caller may use it, as for ownedBy.account.
    const accountOf = !existing && input.account !== undefined && desired.ownedBy?.account === undefined ? { ...desired, ownedBy: { ...desired.ownedBy, account: input.account } } : desired;
    const accountId = this.policy.accountFor(input.principal, accountOf, existing);
    this.policy.authorizeApply(input.principal, desired, existing, keptSecrets);
    if (isVirtualManifest(desired)) {
      // Its sources: remote or stdio servers the writer may use.
      const sourceErrors = await checkVirtualSources(desired, this.tenant, input.principal, this.policy, (fqn) => this.store.get(fqn));
      if (sourceErrors.length > 0) throw invalid(sourceErrors, prefix);
    }
    checkIfMatch(input.ifMatch, existing, fqn);
    const managedElsewhere = existing ? ownershipConflict(existing, input.source, input.mayAdopt) : undefined;
    // force: true takes the resource over from its manager; from a file, that needs the policy's consent.
    const takenFrom = managedElsewhere !== undefined && input.force ? existing!.source : undefined;
    if (takenFrom?.kind === 'file') this.policy.authorizeTakeover(input.principal, existing!);
    const conflict = takenFrom ? undefined : managedElsewhere;
    if (conflict && !input.dryRun) throw new ConflictError(conflict);

    const plan = planApply({
      desired,
      desiredHash: hash,
      metadata: input.metadata,
      source: input.source,
      accountId,
      stored: existing,
    });
    if (plan.action === 'UNCHANGED' && !input.dryRun) {
      return { action: plan.action, diff: plan.diff, resource: existing!, existing, existingAnswer, dryRun: false, warnings: [], admission: [] };
    }
    // Admission policies, after every other check: deny refuses (a dryRun too), warn and audit are answered.
    const verdicts = this.admission
      ? await this.admission.review({
          object: desired,
          oldObject: existing?.manifest,
          accountId,
          request: { subject: input.principal.subject.subjectId, source: admissionSource(input), dryRun: input.dryRun },
        })
      : [];
    const denied = verdicts.filter((v) => v.action === 'deny');
    if (denied.length > 0) throw policyViolation(desired.name, denied);
    const policyWarnings = verdicts.filter((v) => v.action === 'warn').map(describeVerdict);
    const now = isoTime(this.clock.now());
    const status = plan.specChanged ? pendingStatus(existing?.status ?? initialStatus(), plan.generation, now) : existing!.status;

    const subject = input.principal.subject;
    const update: ResourceUpdate = {
      manifest: desired,
      specHash: hash,
      generation: plan.generation,
      source: input.source,
      metadata: plan.metadata,
      accountId,
      updatedBy: subject,
      status,
    };
    const created: NewResource | undefined = existing
      ? undefined
      : { id: this.newId(), tenant: this.tenant, name: desired.name, fqn, ...update, createdBy: subject };

    if (input.dryRun) {
      const preview: McpServerResource = existing
        ? { ...existing, ...update, updatedAt: plan.action === 'UNCHANGED' ? existing.updatedAt : now }
        : { ...created!, generation: plan.generation, updatedBy: subject, resourceVersion: 0, createdAt: now, updatedAt: now };
      return { action: plan.action, diff: plan.diff, resource: preview, existing, existingAnswer, dryRun: true, warnings: [...(conflict ? [conflict] : []), ...policyWarnings], admission: verdicts };
    }

    // The row and its events are one write: one unit, one commit.
    const events: WriteEvent[] = [];
    if (takenFrom) {
      events.push({
        type: 'Normal',
        reason: EventReason.TakenOver,
        message: `Taken over from ${describeSource(takenFrom)} by ${subject.subjectId} through ${describeSource(input.source)} (force).`,
        actor: subject.subjectId,
      });
    }
    events.push({
      type: 'Normal',
      reason: plan.action === 'CREATE' ? EventReason.Created : EventReason.Updated,
      message:
        plan.action === 'CREATE'
          ? `Created from ${describeSource(input.source)}` +
            (input.origin?.rolledBackTo !== undefined ? ` (recreated from revision ${input.origin.rolledBackTo} of a deleted server)` : '') +
            '; generation 1.'
          : `Updated from ${describeSource(input.source)}` +
            (input.origin?.rolledBackTo !== undefined ? ` (rollback to generation ${input.origin.rolledBackTo})` : '') +
            `; generation ${plan.generation}` +
            (plan.specChanged ? '' : ' (spec unchanged)') +
            (plan.diff.length > 0 ? `, ${plan.diff.length} change(s): ${describeDiff(plan.diff)}.` : '.'),
      actor: input.principal.subject.subjectId,
    });
    for (const v of verdicts) {
      if (v.action === 'deny') continue;
      events.push({
        type: 'Warning',
        reason: v.action === 'warn' ? EventReason.PolicyWarning : EventReason.PolicyAudit,
        message: `Accepted although it breaks ${describeVerdict(v)} (action ${v.action}).`,
        actor: subject.subjectId,
      });
    }
    // The revision a new generation records keeps the spec's diff (not the request metadata's).
    const revision = { diff: plan.diff.filter((d) => d.path !== '/metadata' && !d.path.startsWith('/metadata/')), ...(input.origin ? { origin: input.origin } : {}) };
    const resource = created
      ? await this.store.create(created, { events, revision })
      : await this.store.update(fqn, update, { expect: { resourceVersion: existing!.resourceVersion }, events, revision });
    this.enqueue(fqn);
    if (takenFrom?.kind === 'file') this.takenFromFile?.(takenFrom, { name: desired.name, by: subject.subjectId, deleted: false });
    return { action: plan.action, diff: plan.diff, resource, existing, existingAnswer, dryRun: false, warnings: policyWarnings, admission: verdicts };
  }

  /**
   * An admission policy: admins only; stored in the policies' scope (policyScope) with the same plan,
   * If-Match, ownership (API or a file) and dryRun as a server. Its compile errors were found by
   * validation. Enqueued after the commit: its reconcile audits the stored servers against it.
   */
  private applyPolicy(input: ApplyInput, desired: AdmissionPolicyManifest): Promise<ApplyResult> {
    this.policy.authorizePolicies(input.principal);
    const fqn = policyFqn(this.tenant, desired.name);
    const manifest = desired as unknown as McpServerManifest;
    return this.raced(fqn, input.ifMatch, async () => {
      const existing = await this.store.get(fqn);
      checkIfMatch(input.ifMatch, existing, fqn);
      const managedElsewhere = existing ? ownershipConflict(existing, input.source, input.mayAdopt, 'Admission policy') : undefined;
      const conflict = input.force ? undefined : managedElsewhere;
      if (conflict && !input.dryRun) throw new ConflictError(conflict);
      const hash = specHash(manifest, this.specHashKey);
      const plan = planApply({ desired: manifest, desiredHash: hash, metadata: input.metadata, source: input.source, accountId: this.tenant, stored: existing });
      const answer = { action: plan.action, diff: plan.diff, existing, admission: [] };
      if (plan.action === 'UNCHANGED' && !input.dryRun) return { ...answer, resource: existing!, dryRun: false, warnings: [] };
      const now = isoTime(this.clock.now());
      const subject = input.principal.subject;
      const update: ResourceUpdate = {
        manifest,
        specHash: hash,
        generation: plan.generation,
        source: input.source,
        metadata: plan.metadata,
        accountId: this.tenant,
        updatedBy: subject,
        status: existing?.status ?? initialStatus(),
      };
      if (input.dryRun) {
        const resource: McpServerResource = existing
          ? { ...existing, ...update, updatedAt: plan.action === 'UNCHANGED' ? existing.updatedAt : now }
          : { id: 'dry-run', tenant: policyScope(this.tenant), name: desired.name, fqn, ...update, createdBy: subject, resourceVersion: 0, createdAt: now, updatedAt: now };
        return { ...answer, resource, dryRun: true, warnings: conflict ? [conflict] : [] };
      }
      const events: WriteEvent[] = [
        {
          type: 'Normal',
          reason: existing ? EventReason.Updated : EventReason.Created,
          message: `${existing ? 'Updated' : 'Created'} from ${describeSource(input.source)}; generation ${plan.generation}` + (plan.diff.length > 0 ? `, ${plan.diff.length} change(s): ${describeDiff(plan.diff)}.` : '.'),
          actor: subject.subjectId,
        },
      ];
      const revision = { diff: plan.diff.filter((d) => d.path !== '/metadata' && !d.path.startsWith('/metadata/')), ...(input.origin ? { origin: input.origin } : {}) };
      const resource = existing
        ? await this.store.update(fqn, update, { expect: { resourceVersion: existing.resourceVersion }, events, revision })
        : await this.store.create({ id: this.newId(), tenant: policyScope(this.tenant), name: desired.name, fqn, ...update, createdBy: subject }, { events, revision });
      this.enqueue(fqn);
      return { ...answer, resource, dryRun: false, warnings: [] };
    });
  }

  /** Deletes an admission policy (admins only); its reconcile audits the stored servers again. */
  async deletePolicy(input: Omit<DeleteInput, 'fqn'> & { name: string }): Promise<McpServerResource> {
    this.policy.authorizePolicies(input.principal);
    const fqn = policyFqn(this.tenant, input.name);
    if (!(await this.store.get(fqn))) throw new NotFoundError(`Admission policy ${input.name} not found.`);
    return this.delete({ ...input, fqn });
  }

  /**
   * Applies the spec of one kept revision again, secrets included, as a new generation through the same
   * pipeline as apply (access, If-Match, plan; dryRun answers the plan). A server a watched file manages
   * is refused (409, naming the file: roll it back in Git); a removed one is created again (a new resource,
   * in the account it had), unless another server took its name meanwhile.
   */
  async rollback(input: RollbackInput): Promise<ApplyResult> {
    this.policy.authorizeWrite(input.principal);
    const n = input.toGeneration;
    const revision = await this.store.getRevision(input.resourceId, n);
    if (!revision) {
      throw new NotFoundError(`MCP server ${input.fqn} has no revision ${n}; list the kept ones with GET .../revisions (mcpctl history NAME).`);
    }
    const existing = await this.store.get(input.fqn);
    if (existing && existing.id !== input.resourceId) {
      throw new ConflictError(
        `Revision ${n} belongs to an MCP server "${revision.name}" that was deleted; another server of that name exists now. Delete it first, or roll that one back.`,
      );
    }
    if (existing?.source.kind === 'file') {
      throw new ConflictError(
        `MCP server "${existing.name}" is managed by ${describeSource(existing.source)}; roll it back in Git (revert that file), not through the API.`,
      );
    }
    // Validated again: the schema may have moved on since the revision was written.
    const validated = validateManifest(revision.manifest);
    if (!validated.ok) {
      const details = tidyErrors(validated.errors);
      throw new ValidationError(summariseErrors(`Revision ${n} of ${input.fqn} is no longer a valid manifest`, details), details);
    }
    return this.applyAuthorized(
      {
        manifest: validated.manifest,
        dryRun: input.dryRun,
        force: false,
        metadata: undefined,
        source: { kind: 'api' },
        principal: input.principal,
        ...(input.ifMatch !== undefined ? { ifMatch: input.ifMatch } : {}),
        origin: { via: 'rollback', rolledBackTo: n },
        account: revision.accountId,
      },
      validated.manifest,
    );
  }

  delete(input: DeleteInput): Promise<McpServerResource> {
    return this.raced(input.fqn, input.ifMatch, () => this.deleteOnce(input));
  }

  private async deleteOnce(input: DeleteInput): Promise<McpServerResource> {
    const existing = await this.store.get(input.fqn);
    if (!existing || !this.policy.canRead(input.principal, existing)) {
      throw new NotFoundError(`MCP server ${input.fqn} not found.`);
    }
    this.policy.authorizeDelete(input.principal, existing);
    checkIfMatch(input.ifMatch, existing, input.fqn);
    // A file that no longer exists manages nothing: its server may be deleted from anywhere.
    const orphan = existing.source.kind === 'file' && input.source.kind !== 'file' && this.fileGone?.(existing.source) === true;
    const managedElsewhere = orphan ? undefined : ownershipConflict(existing, input.source, undefined, isAdmissionPolicy(existing.manifest) ? 'Admission policy' : undefined);
    // force deletes it from under its manager; from a live file, that needs the same consent as a takeover.
    const takenFrom = managedElsewhere !== undefined && input.force ? existing.source : undefined;
    if (takenFrom?.kind === 'file') this.policy.authorizeTakeover(input.principal, existing);
    if (managedElsewhere && !takenFrom) throw new ConflictError(managedElsewhere);
    const subjectId = input.principal.subject.subjectId;
    const removed = await this.store.remove(input.fqn, {
      expect: { resourceVersion: existing.resourceVersion },
      events: [
        {
          type: 'Normal',
          reason: EventReason.Deleted,
          message:
            `Deleted through ${describeSource(input.source)}.` +
            (orphan ? ` The ${describeSource(existing.source)}, which declared it, no longer exists.` : '') +
            (takenFrom ? ` Taken from ${describeSource(takenFrom)} by ${subjectId} (force).` : ''),
          actor: subjectId,
        },
      ],
    });
    if (!removed) throw new WriteConflictError(input.fqn, 'it no longer exists');
    this.enqueue(input.fqn);
    if (takenFrom?.kind === 'file') this.takenFromFile?.(takenFrom, { name: existing.name, by: subjectId, deleted: true });
    return removed;
  }
}

/** The diff for an event message (the status page shows it as the last change): bounded, secrets as "changed". */
function describeDiff(diff: readonly DiffOp[], max = 10): string {
  const value = (v: unknown) => {
    const text = v === undefined ? 'undefined' : JSON.stringify(v);
    return text.length <= 60 ? text : `${text.slice(0, 59)}…`;
  };
  const lines = diff.slice(0, max).map((d) => {
    if (d.secret) return `${d.op === 'add' ? '+' : d.op === 'remove' ? '-' : '~'} ${d.path}: (secret ${d.op === 'add' ? 'set' : d.op === 'remove' ? 'removed' : 'changed'})`;
    if (d.op === 'add') return `+ ${d.path}: ${value(d.to)}`;
    if (d.op === 'remove') return `- ${d.path}: ${value(d.from)}`;
    return `~ ${d.path}: ${value(d.from)} → ${value(d.to)}`;
  });
  return lines.join('; ') + (diff.length > max ? `; and ${diff.length - max} more` : '');
}

function invalid(errors: FieldError[], prefix: string): ValidationError {
  // Tidied (and so capped) here too: not every list of errors comes from validateManifest.
  const details = tidyErrors(errors).map((e) => ({ ...e, path: `${prefix}${e.path}` }));
  return new ValidationError(summariseErrors('The manifest is invalid', details), details);
}

/** How a write came in, as admission rules see it (request.source). */
function admissionSource(input: ApplyInput): AdmissionSource {
  return input.origin?.via ?? input.source.kind;
}

/** 400 PolicyViolation: every denying rule the server breaks, each naming its policy, rule and message. */
function policyViolation(name: string, denied: readonly PolicyVerdict[]): PolicyViolationError {
  const details = denied.map((v) => ({ path: '', message: describeVerdict(v) }));
  return new PolicyViolationError(`MCP server "${name}" was refused by admission ${denied.length === 1 ? 'policy' : 'policies'}: ${details.map((d) => d.message).join('; ')}`, details);
}

function sameSource(a: SourceRef, b: SourceRef): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'api' || b.kind === 'api') return true;
  return a.root === b.root && a.path === b.path;
}

/** Neither manager silently overwrites the other: answers why the write is refused, or undefined. */
function ownershipConflict(
  existing: McpServerResource,
  source: SourceRef,
  mayAdopt?: (current: SourceRef) => boolean,
  noun = 'MCP server',
): string | undefined {
  if (sameSource(existing.source, source)) return undefined;
  if (mayAdopt?.(existing.source)) return undefined;
  if (existing.source.kind === 'file') {
    return (
      `${noun} "${existing.name}" is managed by ${describeSource(existing.source)}; ` +
      'change it there (or send force: true to take it over through the API).'
    );
  }
  if (source.kind === 'file') {
    return `${noun} "${existing.name}" is already managed by the API; delete it there first or rename it in this file.`;
  }
  return `${noun} "${existing.name}" is managed by ${describeSource(existing.source)}.`;
}

/** After a spec change, Ready may not claim the new generation until the reconciler has applied it. */
function pendingStatus(status: ResourceStatus, generation: number, now: string): ResourceStatus {
  let conditions = setCondition(
    status.conditions,
    {
      type: READY,
      status: 'Unknown',
      reason: ConditionReason.Progressing,
      message: `Waiting for the reconciler to apply generation ${generation}.`,
      observedGeneration: generation,
    },
    now,
  );
  conditions = setCondition(
    conditions,
    {
      type: RECONCILING,
      status: 'True',
      reason: ConditionReason.Progressing,
      message: `Generation ${generation} is queued for reconcile.`,
      observedGeneration: generation,
    },
    now,
  );
  return { ...status, conditions };
}

