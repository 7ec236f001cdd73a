import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/** `rollgate promote RELEASE --to ENV`, `rollgate drift --env ENV` (see docs/cli.md). */
export function registerPromoteCommands(program: Command, ctx: CliContext): void {
  void program;
  void ctx;
}
