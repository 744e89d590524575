/**
 * `chronos studio`: the history browser of @chronos-db/studio over the config's
 * context, until Ctrl-C (SIGINT) or SIGTERM. Prints the URL with its access
 * token on stdout (`{ "url": ... }` with --json or a pipe); the warning for a
 * non-loopback --host goes to stderr.
 */
import type { StudioContext } from '@chronos-db/studio';
import { usage } from '../errors.js';
import type { Session } from '../session.js';

export async function studio(s: Session, o: { port: number; host?: string; allowRestore?: boolean; collections?: string }) {
  const { config } = await s.config();
  // the context without a collection: the studio lists several
  const { collection, ...base } = (await s.ctx({ collection: false })) as unknown as Record<string, unknown> & { collection: string };
  const listed = o.collections
    ? o.collections
        .split(',')
        .map((c) => c.trim())
        .filter(Boolean)
    : collection !== '_'
      ? [collection]
      : Object.keys(config.collectionMaps ?? {});
  if (listed.length === 0) throw usage('give --collection <name> or --collections a,b (or collectionMaps in the config): the collections the studio lists');
  const chronos = await s.open('read');
  const { startStudio } = await import('@chronos-db/studio');
  const st = await startStudio({
    chronos,
    config,
    contexts: [{ ...base, collections: [...new Set(listed)] } as StudioContext],
    port: o.port,
    ...(o.host !== undefined ? { host: o.host } : {}),
    allowRestore: !!o.allowRestore,
    warn: (m) => s.out.note(m),
  });
  await (s.out.machine ? s.out.json({ url: st.url, allowRestore: !!o.allowRestore }) : s.out.line(`chronos studio: ${st.url}`));
  s.out.note(`${o.allowRestore ? 'restore allowed' : 'read-only'}; Ctrl-C stops it`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await st.close();
}
