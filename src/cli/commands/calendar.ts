import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/** `rollgate calendar ...` (see docs/cli.md). */
export function registerCalendarCommands(program: Command, ctx: CliContext): void {
  void program;
  void ctx;
}
