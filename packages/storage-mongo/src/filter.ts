/**
 * Compiles core's safe filter AST (FilterNode) to a MongoDB query on
 * `metaIndexed.<field>`, with the exact semantics of core's `matchFilter`:
 *
 * - comparisons match values of the same type only (numbers with numbers,
 *   strings with strings); `$gt: null` or `$gt: true` match nothing;
 * - a path never walks through an array, and an array value never matches a
 *   scalar by one of its elements (MongoDB would match both): guarded with
 *   `$type: 'array'`;
 * - `null` matches null and missing.
 *
 * Only the operators listed in SAFE_OPERATORS can appear in the output, and
 * `assertSafeQuery` checks that again on the final query (defence in depth):
 * `$where`, `$function`, `$expr`, `$accumulator` can never reach the server.
 */
import { FORBIDDEN_FIELD_SEGMENTS, ValidationError, fieldSegments, type FilterNode, type Scalar } from '@chronos-db/core';

type Doc = Record<string, unknown>;
/** A compiled node: a query document, or a constant. */
type Q = Doc | true | false;

const MAX_NODES = 2048;
const MAX_DEPTH = 64;

export const SAFE_OPERATORS = new Set(['$and', '$or', '$nor', '$not', '$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exists', '$type']);

/** Matches no document (every document has an _id). */
const NOTHING: Doc = { _id: { $in: [] } };

function checkScalar(v: unknown): Scalar {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  throw new ValidationError('Filter values must be strings, finite numbers, booleans or null');
}

function checkField(f: unknown): string {
  fieldSegments(f);
  return f as string;
}

function and(parts: Q[]): Q {
  const docs: Doc[] = [];
  for (const p of parts) {
    if (p === false) return false;
    if (p !== true) docs.push(p);
  }
  if (docs.length === 0) return true;
  return docs.length === 1 ? docs[0]! : { $and: docs };
}

function or(parts: Q[]): Q {
  const docs: Doc[] = [];
  for (const p of parts) {
    if (p === true) return true;
    if (p !== false) docs.push(p);
  }
  if (docs.length === 0) return false;
  return docs.length === 1 ? docs[0]! : { $or: docs };
}

function not(q: Q): Q {
  if (q === true) return false;
  if (q === false) return true;
  return { $nor: [q] };
}

class Compiler {
  private count = 0;
  constructor(private readonly prefix: string) {}

  /** Every strict prefix of the path is not an array (matchFilter's getPath never walks through arrays). */
  private plainPath(field: string): Q[] {
    const segs = field.split('.');
    const out: Q[] = [];
    for (let i = 1; i < segs.length; i++) out.push({ [`${this.prefix}${segs.slice(0, i).join('.')}`]: { $not: { $type: 'array' } } });
    return out;
  }

  private path(field: string): string {
    return `${this.prefix}${field}`;
  }

  /** The value at `field` is defined (not missing): matchFilter's getPath(...) !== undefined. */
  private exists(field: string): Q {
    return and([...this.plainPath(field), { [this.path(field)]: { $exists: true } }]);
  }

  /** getPath(...) is defined and is not null. */
  private definedNonNull(field: string): Q {
    const p = this.path(field);
    return and([...this.plainPath(field), or([{ [p]: { $type: 'array' } }, { [p]: { $ne: null } }])]);
  }

  /** A scalar (non-array) value at field equal to one of the non-null values. */
  private eqValues(field: string, values: Exclude<Scalar, null>[]): Q {
    if (values.length === 0) return false;
    const p = this.path(field);
    const cond = values.length === 1 ? { $eq: values[0] } : { $in: values };
    return and([...this.plainPath(field), { [p]: { $not: { $type: 'array' } } }, { [p]: cond }]);
  }

  private eq(field: string, value: Scalar): Q {
    return value === null ? not(this.definedNonNull(field)) : this.eqValues(field, [value]);
  }

  private in(field: string, values: Scalar[]): Q {
    const nonNull = values.filter((v): v is Exclude<Scalar, null> => v !== null);
    const parts: Q[] = [this.eqValues(field, nonNull)];
    if (nonNull.length !== values.length) parts.push(not(this.definedNonNull(field)));
    return or(parts);
  }

  private cmp(op: 'gt' | 'gte' | 'lt' | 'lte', field: string, value: Scalar): Q {
    // matchFilter compares numbers with numbers and strings with strings only.
    if (typeof value !== 'number' && typeof value !== 'string') return false;
    const p = this.path(field);
    const type = typeof value === 'number' ? 'number' : 'string';
    return and([...this.plainPath(field), { [p]: { $not: { $type: 'array' } } }, { [p]: { $type: type, [`$${op}`]: value } }]);
  }

  compile(node: FilterNode, depth: number): Q {
    if (++this.count > MAX_NODES) throw new ValidationError('Filter too large');
    if (depth > MAX_DEPTH) throw new ValidationError('Filter nested too deeply');
    if (node === null || typeof node !== 'object') throw new ValidationError('Invalid filter node');
    switch (node.op) {
      case 'and':
      case 'or': {
        if (!Array.isArray(node.nodes) || node.nodes.length === 0) throw new ValidationError(`'${node.op}' needs a non-empty list of nodes`);
        const parts = node.nodes.map((n) => this.compile(n, depth + 1));
        return node.op === 'and' ? and(parts) : or(parts);
      }
      case 'eq':
        return this.eq(checkField(node.field), checkScalar(node.value));
      case 'ne':
        return not(this.eq(checkField(node.field), checkScalar(node.value)));
      case 'gt':
      case 'gte':
      case 'lt':
      case 'lte':
        return this.cmp(node.op, checkField(node.field), checkScalar(node.value));
      case 'in':
      case 'nin': {
        const field = checkField(node.field);
        if (!Array.isArray(node.values) || node.values.length > 1000) throw new ValidationError(`'${node.op}' needs an array of at most 1000 values`);
        const q = this.in(field, node.values.map(checkScalar));
        return node.op === 'in' ? q : not(q);
      }
      case 'exists': {
        const field = checkField(node.field);
        if (typeof node.value !== 'boolean') throw new ValidationError("'exists' needs a boolean");
        const q = this.exists(field);
        return node.value ? q : not(q);
      }
      default:
        throw new ValidationError(`Filter operator ${JSON.stringify(String((node as { op?: unknown }).op).slice(0, 40))} is not allowed`);
    }
  }
}

/**
 * Compiles a FilterNode to a MongoDB query over `<prefix><field>`
 * (default prefix `metaIndexed.`). Undefined means "match everything".
 * Throws ValidationError for anything outside the filter language.
 */
export function compileMongoFilter(node: FilterNode | undefined, prefix = 'metaIndexed.'): Doc {
  if (node === undefined) return {};
  const q = new Compiler(prefix).compile(node, 0);
  const out = q === true ? {} : q === false ? NOTHING : q;
  assertSafeQuery(out);
  return out;
}

/**
 * Defence in depth: walks a query and refuses any `$` key outside
 * SAFE_OPERATORS, any `__proto__`-like key, and any non-plain value
 * (functions, code, regular expressions).
 */
export function assertSafeQuery(q: unknown, depth = 0): void {
  if (depth > 200) throw new ValidationError('Query nested too deeply');
  if (q === null || typeof q === 'string' || typeof q === 'boolean') return;
  if (typeof q === 'number') {
    if (!Number.isFinite(q)) throw new ValidationError('Query values must be finite');
    return;
  }
  if (Array.isArray(q)) {
    for (const x of q) assertSafeQuery(x, depth + 1);
    return;
  }
  if (typeof q !== 'object') throw new ValidationError(`Query values of type ${typeof q} are not allowed`);
  const proto = Object.getPrototypeOf(q);
  if (proto !== Object.prototype && proto !== null) throw new ValidationError('Query values must be plain objects');
  for (const [k, v] of Object.entries(q as Doc)) {
    if (k.startsWith('$') && !SAFE_OPERATORS.has(k)) throw new ValidationError(`Operator '${k.slice(0, 40)}' is not allowed in filters`);
    if (k.split('.').some((s) => FORBIDDEN_FIELD_SEGMENTS.has(s))) throw new ValidationError('Invalid key in query');
    assertSafeQuery(v, depth + 1);
  }
}
