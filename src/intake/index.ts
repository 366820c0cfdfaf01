export * from './access-policy.js';
export * from './intake.js';
