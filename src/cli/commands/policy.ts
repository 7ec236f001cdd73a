import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/** `rollgate policy ...` (see docs/cli.md). */
export function registerPolicyCommands(program: Command, ctx: CliContext): void {
  void program;
  void ctx;
}
