/**
 * Translates core's FilterNode into a SQLite boolean expression over a JSON
 * column. Values and JSON paths are always bound parameters; no value is ever
 * concatenated into SQL. Semantics are those of core's `matchFilter`:
 * comparisons only match values of the same JSON type, `null` equals a
 * missing field, and a path only descends through objects. Every generated
 * expression evaluates to 0 or 1, never NULL, so NOT / $ne / $nin are exact.
 */
import { ValidationError, fieldSegments, type FilterNode, type Scalar } from '@chronos-db/core';

export interface SqlExpr {
  sql: string;
  params: unknown[];
}

/** `$.<root>."a"."b"`: a JSON path that only walks object members. */
export function jsonPath(root: string, field: unknown): string {
  const segs = fieldSegments(field);
  return `$.${root}${segs.map((s) => `."${s}"`).join('')}`;
}

function isScalar(v: unknown): v is Scalar {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

function checkScalar(v: unknown): Scalar {
  if (!isScalar(v)) throw new ValidationError('Filter values must be strings, finite numbers, booleans or null');
  return v;
}

/**
 * `col` is a trusted column name chosen by the adapter; `root` the JSON member
 * holding the indexed metadata.
 */
export function filterToSql(node: FilterNode, col: string, root: string, depth = 0): SqlExpr {
  if (depth > 64) throw new ValidationError('Filter nested too deeply');
  const type = `IFNULL(json_type(${col}, ?), '')`;
  const value = `json_extract(${col}, ?)`;

  /** value IN (values), with the same-type rule, for a non-empty list of scalars. */
  const anyOf = (path: string, values: Scalar[]): SqlExpr => {
    const parts: string[] = [];
    const params: unknown[] = [];
    const strings = values.filter((v): v is string => typeof v === 'string');
    const numbers = values.filter((v): v is number => typeof v === 'number');
    if (values.some((v) => v === null)) {
      parts.push(`IFNULL(json_type(${col}, ?), 'null') = 'null'`);
      params.push(path);
    }
    if (values.some((v) => v === true)) {
      parts.push(`${type} = 'true'`);
      params.push(path);
    }
    if (values.some((v) => v === false)) {
      parts.push(`${type} = 'false'`);
      params.push(path);
    }
    if (strings.length) {
      parts.push(`(${type} = 'text' AND ${value} IN (${strings.map(() => '?').join(', ')}))`);
      params.push(path, path, ...strings);
    }
    if (numbers.length) {
      parts.push(`(${type} IN ('integer', 'real') AND ${value} IN (${numbers.map(() => '?').join(', ')}))`);
      params.push(path, path, ...numbers);
    }
    if (parts.length === 0) return { sql: '0', params: [] };
    return { sql: `(${parts.join(' OR ')})`, params };
  };

  switch (node.op) {
    case 'and':
    case 'or': {
      if (!Array.isArray(node.nodes)) throw new ValidationError(`Filter '${node.op}' needs nodes`);
      if (node.nodes.length === 0) return { sql: node.op === 'and' ? '1' : '0', params: [] };
      const subs = node.nodes.map((n) => filterToSql(n, col, root, depth + 1));
      return { sql: `(${subs.map((s) => s.sql).join(node.op === 'and' ? ' AND ' : ' OR ')})`, params: subs.flatMap((s) => s.params) };
    }
    case 'exists': {
      const path = jsonPath(root, node.field);
      return { sql: `(json_type(${col}, ?) IS ${node.value === true ? 'NOT ' : ''}NULL)`, params: [path] };
    }
    case 'eq':
    case 'ne': {
      const path = jsonPath(root, node.field);
      const e = anyOf(path, [checkScalar(node.value)]);
      return node.op === 'eq' ? e : { sql: `(NOT ${e.sql})`, params: e.params };
    }
    case 'in':
    case 'nin': {
      const path = jsonPath(root, node.field);
      if (!Array.isArray(node.values)) throw new ValidationError(`Filter '${node.op}' needs values`);
      const e = anyOf(path, node.values.map(checkScalar));
      return node.op === 'in' ? e : { sql: `(NOT ${e.sql})`, params: e.params };
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const path = jsonPath(root, node.field);
      const v = checkScalar(node.value);
      const sqlOp = { gt: '>', gte: '>=', lt: '<', lte: '<=' }[node.op];
      if (typeof v === 'number') return { sql: `(${type} IN ('integer', 'real') AND ${value} ${sqlOp} ?)`, params: [path, path, v] };
      // Strings compare by UTF-16 code units, as JavaScript (and core's matchFilter) does.
      if (typeof v === 'string') return { sql: `(${type} = 'text' AND chronos_strcmp(${value}, ?) ${sqlOp} 0)`, params: [path, path, v] };
      return { sql: '0', params: [] }; // null and booleans never order
    }
    default:
      throw new ValidationError(`Unknown filter operator '${String((node as { op?: unknown }).op).slice(0, 40)}'`);
  }
}

/** JavaScript string order (UTF-16 code units), registered as a SQLite function. */
export function strcmp(a: unknown, b: unknown): number {
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
