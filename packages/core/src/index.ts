export * from './errors.js';
export * from './ports.js';
export * from './filter.js';
export * from './names.js';
export * from './config.js';
export * from './redact.js';
export * from './logger.js';
export * from './engine/index.js';
