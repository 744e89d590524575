import { ConfigError, parseConfig } from '@chronos-db/core';

/** The issues of the ConfigError that parseConfig throws for `cfg` (it fails the test if parseConfig accepts it or throws anything else). */
export function issuesOf(cfg: unknown) {
  try {
    parseConfig(cfg);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}
