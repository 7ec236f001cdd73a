import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/** `rollgate user ...` (see docs/cli.md). */
export function registerUserCommands(program: Command, ctx: CliContext): void {
  void program;
  void ctx;
}
