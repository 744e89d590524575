import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCrashScenarios } from './crash/run-crash.js';

runCrashScenarios('embedded default', () => ({ kind: 'local', basePath: mkdtempSync(join(tmpdir(), 'chronos-crash-')) }));
