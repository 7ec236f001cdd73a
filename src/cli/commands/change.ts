import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/** `rollgate change ...` (see docs/cli.md). */
export function registerChangeCommands(program: Command, ctx: CliContext): void {
  void program;
  void ctx;
}
