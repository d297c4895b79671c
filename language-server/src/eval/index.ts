// Evaluation tasks as pure TypeScript: task definitions (data), request building, the joint
// tokenization rule, metrics and lm-eval's results layout.
export * from './types';
export * from './template';
export * from './data';
export * from './tasks';
export * from './requests';
export * from './tokenize';
export * from './metrics';
export * from './results';
export * from './custom';
export * from './task-names';
