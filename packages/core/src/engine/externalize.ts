/**
 * base64 externalization: configured properties holding base64 are decoded,
 * stored in the content bucket (with an optional text rendition), and
 * replaced in the stored JSON by a marker. Everything is decoded and checked
 * before the first PUT.
 */
import { ExternalizationError } from '../errors.js';
import { blobKey } from '../names.js';
import type { BlobRef, Namespace } from '../ports.js';
import { getPath } from '../filter.js';
import { isPlainObject, sha256 } from './payload.js';

export interface Base64PropConfig {
  contentType: string;
  preferredText?: boolean | undefined;
  textCharset?: 'utf-8' | 'utf8' | 'latin1' | 'ascii' | 'utf16le' | undefined;
}

export const BLOB_MARKER = '$chronosBlob';

export interface PendingBlob {
  prop: string;
  ref: BlobRef;
  bytes: Uint8Array;
  text?: Uint8Array;
}

const B64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64(prop: string, s: unknown): Buffer {
  if (typeof s !== 'string') throw new ExternalizationError(`Property '${prop}' must be a base64 string`);
  const clean = s.replace(/\s+/g, '');
  if (clean.length % 4 !== 0 || !B64_RE.test(clean)) throw new ExternalizationError(`Property '${prop}' is not valid base64`);
  return Buffer.from(clean, 'base64');
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const segs = path.split('.');
  let cur = obj;
  for (let i = 0; i < segs.length - 1; i++) {
    const next = cur[segs[i]!];
    if (!isPlainObject(next)) return;
    const copy = { ...next };
    cur[segs[i]!] = copy;
    cur = copy;
  }
  cur[segs[segs.length - 1]!] = value;
}

/**
 * Returns the document to store (markers in place of base64) and the blobs to
 * PUT. `previous` blobs are carried over for marker values that stay in place.
 */
export function planExternalization(
  ns: Namespace,
  id: string,
  ov: number,
  attempt: string,
  doc: Record<string, unknown>,
  props: Record<string, Base64PropConfig> | undefined,
  previous: Record<string, BlobRef> | undefined,
): { doc: Record<string, unknown>; pending: PendingBlob[]; blobs: Record<string, BlobRef> | undefined } {
  // nothing to externalize: the document as it is (never modified here or by the caller)
  if (!props) return { doc, pending: [], blobs: undefined };
  const out = { ...doc };
  const pending: PendingBlob[] = [];
  const blobs: Record<string, BlobRef> = {};
  for (const [prop, cfg] of Object.entries(props ?? {})) {
    const v = getPath(out, prop);
    if (v === undefined || v === null) continue;
    const keepsPrevious =
      isPlainObject(v) && (typeof v[BLOB_MARKER] === 'string' || (isPlainObject(v.ref) && previous?.[prop] !== undefined && v.ref.key === previous[prop]!.key));
    if (keepsPrevious) {
      const prev = previous?.[prop];
      if (prev) {
        blobs[prop] = prev;
        setPath(out, prop, { [BLOB_MARKER]: prop });
      } else setPath(out, prop, null);
      continue;
    }
    const bytes = decodeBase64(prop, v);
    const ref: BlobRef = { key: blobKey(ns, prop, id, ov, attempt), size: bytes.length, sha256: sha256(bytes), contentType: cfg.contentType };
    const p: PendingBlob = { prop, ref, bytes };
    if (cfg.preferredText) {
      const charset = cfg.textCharset === 'utf8' ? 'utf-8' : (cfg.textCharset ?? 'utf-8');
      let text: string;
      try {
        text = new TextDecoder(charset === 'utf16le' ? 'utf-16le' : charset, { fatal: true }).decode(bytes);
      } catch {
        throw new ExternalizationError(`Property '${prop}' is not valid ${charset} text`);
      }
      p.text = Buffer.from(text, 'utf8');
      ref.textKey = blobKey(ns, prop, id, ov, attempt, 'text.txt');
    }
    pending.push(p);
    blobs[prop] = ref;
    setPath(out, prop, { [BLOB_MARKER]: prop });
  }
  return { doc: out, pending, blobs: Object.keys(blobs).length ? blobs : undefined };
}

/** Replaces markers with what a reader sees: `{ ref: { key, size, sha256, contentType, textKey? }, url? }`. */
export function renderBlobs(doc: Record<string, unknown>, blobs: Record<string, BlobRef> | undefined, urls?: Record<string, string>): void {
  for (const [prop, ref] of Object.entries(blobs ?? {})) {
    const v = getPath(doc, prop);
    if (!isPlainObject(v) || v[BLOB_MARKER] !== prop) continue;
    const shown: Record<string, unknown> = { ref: { ...ref } };
    if (urls?.[prop]) shown.url = urls[prop];
    setPath(doc, prop, shown);
  }
}
