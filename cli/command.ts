/** The shape every `modelship` command module exports, and the error type for usage mistakes. */
import { type ParseArgsConfig, parseArgs } from 'node:util';

export interface Command {
  /** Runs the command with the arguments after its name; resolves to the exit code. */
  run(argv: string[]): Promise<number>;
}

/** An error whose message is for the user as is (no stack trace), with the exit code to use. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/**
 * `node:util` parseArgs with errors turned into CliError, so a mistyped flag prints one line
 * (plus the command's usage) instead of a stack trace.
 */
export function parseCommandArgs(
  argv: string[],
  options: NonNullable<ParseArgsConfig['options']>,
  usage: string,
): { values: Record<string, string | boolean | string[] | boolean[] | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if ((values as Record<string, unknown>).help) {
      console.log(usage);
      process.exit(0);
    }
    return {
      values: values as Record<string, string | boolean | string[] | boolean[] | undefined>,
      positionals,
    };
  } catch (error) {
    throw new CliError(`${(error as Error).message}\n\n${usage}`);
  }
}
