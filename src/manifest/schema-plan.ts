// The walkers that run per manifest (normalise, the annotation rules) read the schema at every value
// they visit: $refs resolved, the property schemas, the branch a discriminator selects, the list
// annotations. A SchemaPlan is that reading done once per schema location and kept, so a manifest's
// walk costs map lookups, not schema resolution. Plans are built on first visit (schemas may recurse).
import { isSchemaObject, resolveSchema, type SchemaNode, type SchemaObject } from './schemas.js';

export class SchemaPlan {
  /** The resolved schema of this location. */
  readonly node: SchemaNode;
  /** `properties`, in schema order. */
  readonly declared: readonly string[];
  readonly listType: 'map' | 'set' | undefined;
  readonly listKeys: readonly string[];
  /** How messages name an item of this list (`x-list-item`). */
  readonly listItem: string | undefined;
  readonly caseInsensitiveKeys: boolean;
  /** How messages name a key of this map (`x-key-name`). */
  readonly keyName: string | undefined;
  readonly default: unknown;
  private readonly declaredSet: ReadonlySet<string>;
  private readonly properties = new Map<string, SchemaPlan | undefined>();
  private additional: SchemaPlan | undefined | null = null;
  private itemsPlan: SchemaPlan | undefined | null = null;
  private branchByTag: Map<unknown, SchemaPlan> | undefined;

  constructor(node: SchemaNode) {
    this.node = node;
    const schema = node.schema;
    this.declared = isSchemaObject(schema.properties) ? Object.keys(schema.properties) : [];
    this.declaredSet = new Set(this.declared);
    const listType = schema['x-list-type'];
    this.listType = listType === 'map' || listType === 'set' ? listType : undefined;
    const keys = schema['x-list-keys'];
    this.listKeys = Array.isArray(keys) ? keys.filter((k): k is string => typeof k === 'string') : [];
    this.listItem = typeof schema['x-list-item'] === 'string' ? schema['x-list-item'] : undefined;
    this.caseInsensitiveKeys = schema['x-case-insensitive-keys'] === true;
    this.keyName = typeof schema['x-key-name'] === 'string' ? schema['x-key-name'] : undefined;
    this.default = schema.default;
  }

  isDeclared(key: string): boolean {
    return this.declaredSet.has(key);
  }

  /** The plan of property `key`: `properties[key]`, else `additionalProperties`. */
  property(key: string): SchemaPlan | undefined {
    if (!this.declaredSet.has(key)) {
      if (this.additional === null) this.additional = childPlan(this.node, this.node.schema.additionalProperties);
      return this.additional;
    }
    let plan = this.properties.get(key);
    if (plan === undefined && !this.properties.has(key)) {
      plan = childPlan(this.node, (this.node.schema.properties as SchemaObject)[key]);
      this.properties.set(key, plan);
    }
    return plan;
  }

  get items(): SchemaPlan | undefined {
    if (this.itemsPlan === null) this.itemsPlan = childPlan(this.node, this.node.schema.items);
    return this.itemsPlan;
  }

  /**
   * For a discriminated `oneOf`, the plan of the branch that `value`'s tag selects (undefined when none
   * does; the first matching branch wins); for any other schema, this plan.
   */
  select(value: unknown): SchemaPlan | undefined {
    const d = this.node.schema.discriminator;
    if (!isSchemaObject(d) || typeof d.propertyName !== 'string') return this;
    const tag = d.propertyName;
    if (!this.branchByTag) {
      this.branchByTag = new Map();
      const oneOf = this.node.schema.oneOf;
      for (const raw of Array.isArray(oneOf) ? oneOf : []) {
        const branch = childPlan(this.node, raw);
        if (!branch) continue;
        const tagValue = branch.property(tag)?.node.schema.const;
        if (!this.branchByTag.has(tagValue)) this.branchByTag.set(tagValue, branch);
      }
    }
    return this.branchByTag.get(isSchemaObject(value) ? value[tag] : undefined);
  }
}

/** Plans by the raw (unresolved) schema object they were made from, per root document. */
const plans = new WeakMap<SchemaObject, WeakMap<SchemaObject, SchemaPlan>>();

function planAt(raw: SchemaObject, root: SchemaObject): SchemaPlan {
  let ofRoot = plans.get(root);
  if (!ofRoot) plans.set(root, (ofRoot = new WeakMap()));
  let plan = ofRoot.get(raw);
  if (!plan) ofRoot.set(raw, (plan = new SchemaPlan(resolveSchema({ schema: raw, root }))));
  return plan;
}

function childPlan(node: SchemaNode, raw: unknown): SchemaPlan | undefined {
  return isSchemaObject(raw) ? planAt(raw, node.root) : undefined;
}

/** The plan of a schema location; the same object on every call for the same location. */
export function planOf(node: SchemaNode): SchemaPlan {
  return planAt(node.schema, node.root);
}
