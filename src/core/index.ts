export type * from './types.ts';
export type * from './ports.ts';
export type * from './library-types.ts';
export * from './errors.ts';
export * from './matcher.ts';
export * from './vector.ts';
export * from './messages.ts';
export * from './concurrency.ts';
