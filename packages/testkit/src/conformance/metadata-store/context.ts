/** What every file of the MetadataStore suite gets: the store, the runner, and record builders. */
import type { CommitInput, MetadataStore, Namespace, VersionDoc } from '@chronos-db/core';
import type { Registrar } from '../../runner.js';
import { freshNs, mkVersion, type SuiteOptions } from '../helpers.js';

export interface MetadataStoreOptions extends SuiteOptions {
  /** Whether the store offers the optional `commitMany` (checked; its tests skip when false). Default false. */
  commitMany?: boolean;
  /** Whether the store offers the optional `scanHeads` (checked; its tests skip when false). Default false. */
  scanHeads?: boolean;
  /** Whether the store offers the optional `findHeadsByState` (checked; its tests skip when false). Default false. */
  headsByState?: boolean;
  /** Whether the store offers the optional `changesAfter` (checked; its tests skip when false). Default false. */
  changesAfter?: boolean;
  /** Whether the store offers the optional `deleteVersions` (checked; its tests skip when false). Default false. */
  deleteVersions?: boolean;
  /** Whether the store offers the optional `findByRequestIds` (checked; its tests skip when false). Default false. */
  findByRequestIds?: boolean;
  /** Whether the store offers the optional `listNamespaces` (checked; its tests skip when false). Default false. */
  listNamespaces?: boolean;
  /**
   * Whether the store offers the optional lifecycle methods (beginErasure, finishErasure,
   * erasedIds, listErasures, clearShadow, getLease, putLease; checked, their tests skip when false). Default false.
   */
  lifecycle?: boolean;
  /**
   * The commit protocol the store declares in `capabilities.transactions` once created (checked,
   * and named in the suite's title). Default: not checked.
   */
  transactions?: boolean;
}

export type VersionFields = Parameters<typeof mkVersion>[3];

export interface MetaSuite {
  t: Registrar;
  /** The suite's store (a stand-in until its factory ran). */
  store: MetadataStore;
  opts: MetadataStoreOptions;
  /** A fresh, ensured namespace. */
  ns(o?: Parameters<typeof freshNs>[0]): Promise<Namespace>;
  /** Commits a create at ov 0. */
  create(n: Namespace, id: string, o?: VersionFields, head?: CommitInput['head']): Promise<{ version: Omit<VersionDoc, 'cv'>; cv: number }>;
  /** Commits the next version after `expectedOv`. */
  next(n: Namespace, id: string, expectedOv: number, o?: VersionFields, head?: CommitInput['head']): Promise<{ version: Omit<VersionDoc, 'cv'>; cv: number }>;
  /** A record with `count` versions (ov 0..count-1), returned with their cv. */
  chain(n: Namespace, id: string, count: number, at?: (ov: number) => number): Promise<VersionDoc[]>;
}

export function metaSuite(t: Registrar, store: MetadataStore, opts: MetadataStoreOptions): MetaSuite {
  const s: MetaSuite = {
    t,
    store,
    opts,
    async ns(o = {}) {
      const n = freshNs(o);
      await store.ensureNamespace(n);
      return n;
    },
    async create(n, id, o = {}, head = {}) {
      const version = mkVersion(n, id, 0, o);
      const r = await store.commit({ ns: n, version, expectedOv: null, head: { createdAt: version.at, ...head } });
      return { version, cv: r.cv };
    },
    async next(n, id, expectedOv, o = {}, head = {}) {
      const version = mkVersion(n, id, expectedOv + 1, o);
      const r = await store.commit({ ns: n, version, expectedOv, head });
      return { version, cv: r.cv };
    },
    async chain(n, id, count, at = (ov) => 1_700_000_000_000 + ov * 1000) {
      const out: VersionDoc[] = [];
      for (let ov = 0; ov < count; ov++) {
        const { version, cv } = ov === 0 ? await s.create(n, id, { at: at(0) }) : await s.next(n, id, ov - 1, { at: at(ov) });
        out.push({ ...version, cv });
      }
      return out;
    },
  };
  return s;
}

/** Item states a store may give a create that names none. */
export const STATES = ['new-not-synched', 'new', 'processed'];
