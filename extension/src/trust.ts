// Workspace trust gating, pure: which actions an untrusted workspace refuses, and the message
// saying why. Viewing runs, dashboards and IntelliSense are never gated.

/** Actions that execute training code on the workspace's data and checkpoints. */
export type GatedAction = 'start' | 'resume' | 'merge' | 'evaluate';

const VERBS: Record<GatedAction, string> = {
  start: 'Starting runs',
  resume: 'Resuming runs',
  merge: 'Merging adapters',
  evaluate: 'Evaluating runs',
};

/** The refusal message for `action` in an untrusted workspace, or undefined when it may go on. */
export function trustRefusal(action: GatedAction, isTrusted: boolean): string | undefined {
  if (isTrusted) return undefined;
  return `LoRA Lab: ${VERBS[action]} is disabled in an untrusted workspace, because it runs the trainer on this workspace's configs, data and checkpoints. Viewing runs and config IntelliSense still work. Trust the workspace (Workspaces: Manage Workspace Trust) to enable it.`;
}
