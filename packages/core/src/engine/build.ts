/**
 * Building a version before its commit: externalization plan, indexed
 * metadata, the stored JSON with its `_system` block, and the devShadow copy.
 */
import { ValidationError } from '../errors.js';
import { jsonKey, newAttempt } from '../names.js';
import type { BlobRef, HeadDoc, ItemState, Op, VersionDoc } from '../ports.js';
import { iso, type EngineContext } from './context.js';
import { planExternalization, type PendingBlob } from './externalize.js';
import { checkSize, isPlainObject, sha256 } from './payload.js';

/** `_system.state` inside a stored payload (see the state machine in render.ts). */
export const STORED_STATE: ItemState = 'new-not-synched';

export interface Built {
  version: Omit<VersionDoc, 'cv'>;
  json: Uint8Array;
  pending: PendingBlob[];
  shadow: { json: string; expiresAt: number } | null;
}

export interface BuildInput {
  id: string;
  ov: number;
  op: Op;
  at: number;
  createdAt: number;
  doc: Record<string, unknown>;
  actor?: string | undefined;
  reason?: string | undefined;
  requestId?: string | undefined;
  requestHash?: string | undefined;
  functionIds?: string[] | undefined;
  previousBlobs?: Record<string, BlobRef> | undefined;
}

export function metaIndexed(cx: EngineContext, doc: Record<string, unknown>): Record<string, unknown> {
  const props = cx.map?.indexedProps ?? [];
  const out: Record<string, unknown> = {};
  const keys = props.length ? props : Object.keys(doc);
  for (const k of keys) {
    const dot = props.length ? k.indexOf('.') : -1;
    const top = dot < 0 ? k : k.slice(0, dot);
    const v = doc[top];
    if (v === undefined) continue;
    if (isPlainObject(v) && typeof v.$chronosBlob === 'string') continue;
    if (props.length === 0 && v !== null && typeof v === 'object') continue; // index-all means top-level scalars
    out[top] = v;
  }
  for (const v of Object.values(out)) {
    if (v === null || typeof v !== 'object') continue; // a scalar has no keys
    const bad = JSON.stringify(v).match(/"(\$[^"]*|[^"]*\.[^"]*)":/);
    if (bad) throw new ValidationError(`Indexed property keys cannot start with '$' or contain '.': ${bad[1]!.slice(0, 40)}`);
  }
  for (const req of cx.map?.validation?.requiredIndexed ?? []) {
    if (out[req] === undefined || out[req] === null) throw new ValidationError(`Indexed property '${req}' is required`);
  }
  return out;
}

function shadowOf(cx: EngineContext, text: string, at: number): { json: string; expiresAt: number } | null {
  if (!cx.devShadow) return null;
  const max = cx.devShadow.maxBytesPerDoc ?? 256 * 1024;
  if (Buffer.byteLength(text) > max) return null;
  return { json: text, expiresAt: at + cx.devShadow.ttlHours * 3600_000 };
}

/**
 * The stored JSON: `doc` with `_system` as its last key, as JSON.stringify({ ...doc, _system }) gives it,
 * without copying `doc` (its JSON with the block appended).
 */
function withSystem(doc: Record<string, unknown>, system: Record<string, unknown>): string {
  if (Object.hasOwn(doc, '_system')) return JSON.stringify({ ...doc, _system: system });
  const body = JSON.stringify(doc);
  return `${body.length > 2 ? `${body.slice(0, -1)},` : '{'}"_system":${JSON.stringify(system)}}`;
}

export function build(cx: EngineContext, a: BuildInput): Built {
  const attempt = newAttempt();
  const ext = planExternalization(cx.ns, a.id, a.ov, attempt, a.doc, cx.map?.base64Props, a.previousBlobs);
  const indexed = metaIndexed(cx, ext.doc);
  // The payload is written before its version commits, and never rewritten (versions are
  // immutable): as stored it is not synched yet. Reads take the state from the metadata.
  const updatedAt = iso(a.at);
  const system: Record<string, unknown> = { insertedAt: a.createdAt === a.at ? updatedAt : iso(a.createdAt), updatedAt, state: STORED_STATE };
  if (a.functionIds?.length) system.functionIds = a.functionIds;
  const text = withSystem(ext.doc, system);
  const json = Buffer.from(text, 'utf8');
  checkSize(json.length, cx.maxBytes);
  let blobBytes = 0;
  for (const p of ext.pending) blobBytes += p.bytes.length + (p.text?.length ?? 0);
  checkSize(blobBytes, Math.max(cx.maxBytes, 5 * 1024 ** 3), 'externalized content');
  const version: Omit<VersionDoc, 'cv'> = {
    itemId: a.id,
    ov: a.ov,
    op: a.op,
    at: a.at,
    jsonKey: jsonKey(cx.ns, a.id, a.ov, attempt),
    size: json.length,
    sha256: sha256(json),
    metaIndexed: indexed,
    deleted: false,
  };
  if (ext.blobs) version.blobs = ext.blobs;
  if (a.actor !== undefined) version.actor = a.actor;
  if (a.reason !== undefined) version.reason = a.reason;
  if (a.requestId !== undefined) version.requestId = a.requestId;
  if (a.requestHash !== undefined) version.requestHash = a.requestHash;
  if (a.functionIds?.length) version.functionIds = a.functionIds;
  return { version, json, pending: ext.pending, shadow: shadowOf(cx, text, a.at) };
}

/** Who/why/idempotency of a pointer version. */
export interface PointerMeta {
  actor?: string | undefined;
  reason?: string | undefined;
  requestId?: string | undefined;
  requestHash?: string | undefined;
}

/** A version that reuses the payload of `source` (delete, restore): no PUT needed. */
export function pointerVersion(head: HeadDoc, source: VersionDoc, op: Op, at: number, deleted: boolean, m: PointerMeta = {}): Built {
  const version: Omit<VersionDoc, 'cv'> = {
    itemId: head.itemId,
    ov: head.ov + 1,
    op,
    at,
    jsonKey: source.jsonKey,
    size: source.size,
    sha256: source.sha256,
    metaIndexed: source.metaIndexed,
    deleted,
  };
  if (source.blobs) version.blobs = source.blobs;
  if (source.functionIds) version.functionIds = source.functionIds;
  if (m.actor !== undefined) version.actor = m.actor;
  if (m.reason !== undefined) version.reason = m.reason;
  if (m.requestId !== undefined) version.requestId = m.requestId;
  if (m.requestHash !== undefined) version.requestHash = m.requestHash;
  const shadow = head.shadow && source === head ? head.shadow : null;
  return { version, json: new Uint8Array(0), pending: [], shadow: deleted ? null : shadow };
}
