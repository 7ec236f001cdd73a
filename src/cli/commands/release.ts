import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/** `rollgate release ...` (see docs/cli.md). */
export function registerReleaseCommands(program: Command, ctx: CliContext): void {
  void program;
  void ctx;
}
