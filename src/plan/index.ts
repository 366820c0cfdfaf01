export * from './diff.js';
export * from './plan.js';
