/**
 * The safe metadata filter language: comparison, $in/$nin, $exists, $and/$or.
 * Nothing in it runs code. User filters are compiled to a small AST that
 * every MetadataStore translates for its backend; anything else is refused
 * with a ValidationError before it reaches a server.
 */
import { ValidationError } from './errors.js';
import { isFieldPath } from './port-rules.js';

export type Scalar = string | number | boolean | null;

export type FilterNode =
  | { op: 'and' | 'or'; nodes: FilterNode[] }
  | { op: 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte'; field: string; value: Scalar }
  | { op: 'in' | 'nin'; field: string; values: Scalar[] }
  | { op: 'exists'; field: string; value: boolean };

export type UserFilter = Record<string, unknown>;

const CMP: Record<string, 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte'> = {
  $eq: 'eq',
  $ne: 'ne',
  $gt: 'gt',
  $gte: 'gte',
  $lt: 'lt',
  $lte: 'lte',
};
const MAX_NODES = 512;
const MAX_IN = 1000;

export interface CompileOptions {
  /** When set, only these fields (or their sub-paths) may be filtered on. */
  allowedFields?: string[] | undefined;
  /**
   * Only top-level fields exist (the engine indexes top-level scalars when a collection has no
   * `indexedProps`): a dotted field could never match, so it is a ValidationError naming it.
   */
  topLevelOnly?: boolean | undefined;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function scalar(v: unknown, where: string): Scalar {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  throw new ValidationError(`Filter value at '${where}' must be a string, finite number, boolean or null`);
}

/** Compiles and validates a user filter. Returns undefined for an empty filter (match all). */
export function compileFilter(filter: unknown, opts: CompileOptions = {}): FilterNode | undefined {
  if (filter === undefined || filter === null) return undefined;
  let count = 0;
  const checkField = (field: string) => {
    if (!isFieldPath(field)) {
      throw new ValidationError(`Invalid filter field '${field.slice(0, 80)}'`);
    }
    if (opts.topLevelOnly && field.includes('.')) {
      throw new ValidationError(
        `Filter field '${field}' is a dotted path, but only top-level scalar properties are indexed here (no indexedProps in this collection's collectionMaps), so it could never match. Filter on a top-level property, or list '${field.split('.')[0]}' in indexedProps to filter inside it`,
        { field },
      );
    }
    if (opts.allowedFields && opts.allowedFields.length > 0) {
      const ok = opts.allowedFields.some((f) => field === f || field.startsWith(`${f}.`));
      if (!ok) throw new ValidationError(`Field '${field}' is not indexed; indexed fields: ${opts.allowedFields.join(', ')}`);
    }
  };
  const walk = (f: unknown, depth: number): FilterNode[] => {
    if (depth > 32) throw new ValidationError('Filter nested too deeply');
    if (!isPlainObject(f)) throw new ValidationError('Filter must be a plain object');
    const out: FilterNode[] = [];
    for (const key of Object.keys(f)) {
      if (++count > MAX_NODES) throw new ValidationError('Filter too large');
      const val = f[key];
      if (key === '$and' || key === '$or') {
        if (!Array.isArray(val) || val.length === 0) throw new ValidationError(`${key} needs a non-empty array`);
        const nodes = val.map((sub) => {
          const parts = walk(sub, depth + 1);
          return parts.length === 1 ? parts[0]! : { op: 'and' as const, nodes: parts };
        });
        out.push({ op: key === '$and' ? 'and' : 'or', nodes });
        continue;
      }
      if (key.startsWith('$')) throw new ValidationError(`Operator '${key.slice(0, 40)}' is not allowed in filters`);
      checkField(key);
      if (isPlainObject(val) && Object.keys(val).some((k) => k.startsWith('$'))) {
        for (const op of Object.keys(val)) {
          const arg = val[op];
          if (op in CMP) out.push({ op: CMP[op]!, field: key, value: scalar(arg, `${key}.${op}`) });
          else if (op === '$in' || op === '$nin') {
            if (!Array.isArray(arg) || arg.length > MAX_IN) throw new ValidationError(`${op} on '${key}' needs an array of at most ${MAX_IN} values`);
            out.push({ op: op === '$in' ? 'in' : 'nin', field: key, values: arg.map((a, i) => scalar(a, `${key}.${op}[${i}]`)) });
          } else if (op === '$exists') {
            if (typeof arg !== 'boolean') throw new ValidationError(`$exists on '${key}' needs a boolean`);
            out.push({ op: 'exists', field: key, value: arg });
          } else throw new ValidationError(`Operator '${op.slice(0, 40)}' is not allowed in filters`);
        }
      } else {
        out.push({ op: 'eq', field: key, value: scalar(val, key) });
      }
    }
    return out;
  };
  const nodes = walk(filter, 0);
  if (nodes.length === 0) return undefined;
  return nodes.length === 1 ? nodes[0]! : { op: 'and', nodes };
}

/** Reads a dotted path from a metaIndexed object. */
export function getPath(obj: Record<string, unknown>, path: string): unknown {
  let cur: unknown = obj;
  for (const seg of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    if (!Object.hasOwn(cur, seg)) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

function cmp(a: unknown, b: Scalar): number | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return undefined;
}

function eq(a: unknown, b: Scalar): boolean {
  if (b === null) return a === null || a === undefined;
  return a === b;
}

/**
 * Reference semantics of the filter language, used by in-memory models and
 * by adapters that cannot push a filter down. Comparisons only match values of
 * the same type (numbers with numbers, strings with strings), as in MongoDB.
 */
export function matchFilter(node: FilterNode | undefined, meta: Record<string, unknown>): boolean {
  if (!node) return true;
  switch (node.op) {
    case 'and':
      return node.nodes.every((n) => matchFilter(n, meta));
    case 'or':
      return node.nodes.some((n) => matchFilter(n, meta));
    case 'exists':
      return (getPath(meta, node.field) !== undefined) === node.value;
    case 'in': {
      const v = getPath(meta, node.field);
      return node.values.some((x) => eq(v, x));
    }
    case 'nin': {
      const v = getPath(meta, node.field);
      return !node.values.some((x) => eq(v, x));
    }
    case 'eq':
      return eq(getPath(meta, node.field), node.value);
    case 'ne':
      return !eq(getPath(meta, node.field), node.value);
    default: {
      const c = cmp(getPath(meta, node.field), node.value);
      if (c === undefined) return false;
      return node.op === 'gt' ? c > 0 : node.op === 'gte' ? c >= 0 : node.op === 'lt' ? c < 0 : c <= 0;
    }
  }
}
