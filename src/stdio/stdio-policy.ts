// Which commands the control plane may run for mcp-server/stdio manifests. Running a command is
// dangerous, so it is off unless the operator turns it on (--allow-stdio) AND lists the command
// (--stdio-allow, repeatable). The list is matched exactly, as written in the manifest: an entry with a
// '/' is a path, any other entry a name looked up on the control plane's PATH. "node" does not allow
// "/tmp/node", and "/usr/bin/node" does not allow "node". Arguments and env are the manifest's own, so
// list wrappers that run one server, not interpreters: an allowed interpreter runs whatever its args say.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

export interface StdioPolicyOptions {
  enabled: boolean;
  allow: readonly string[];
  /** The PATH names are looked up on (the control plane's). */
  path?: string;
}

/** The narrow view of a StdioPolicy a door needs to admit a command. */
export interface StdioGate {
  /** undefined when `command` may run; otherwise why not, in words an API answer (403) can carry. */
  refusal(command: string): string | undefined;
}

const STDIO_OFF =
  'stdio servers are off: the control plane runs a command only when it is started with --allow-stdio ' +
  'and the command is listed with --stdio-allow (an exact path or name); ask an operator.';

/**
 * The one stdio admission rule, asked by every door (API and file writes, the GAIA-style API), again by
 * the reconciler and by the supervisor before each start: undefined when `command` may run; otherwise
 * why not. No policy means stdio is off, in the same words as a policy without --allow-stdio.
 */
export function stdioRefusal(policy: StdioGate | undefined, command: string): string | undefined {
  return policy ? policy.refusal(command) : STDIO_OFF;
}

export class StdioPolicy implements StdioGate {
  readonly enabled: boolean;
  private readonly allow: ReadonlySet<string>;
  private readonly path: string;

  constructor(options: StdioPolicyOptions) {
    this.enabled = options.enabled;
    this.allow = new Set(options.allow);
    this.path = options.path ?? process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';
  }

  /** undefined when `command` may run; otherwise why not, in words an API answer (403) can carry. */
  refusal(command: string): string | undefined {
    if (!this.enabled) return STDIO_OFF;
    if (!this.allow.has(command)) {
      return (
        `The command "${command}" is not on the control plane's --stdio-allow list; an operator must add it exactly as written ` +
        '(a path, or a name looked up on PATH).'
      );
    }
    return undefined;
  }

  /**
   * The program to spawn: a path as written (made absolute), or a name found on the control plane's PATH
   * (so the manifest's own PATH in env cannot change which program a name means). Throws when not found.
   */
  resolveCommand(command: string): string {
    if (command.includes('/')) return isAbsolute(command) ? command : resolve(command);
    for (const dir of this.path.split(delimiter)) {
      if (dir === '') continue;
      const candidate = join(dir, command);
      try {
        if (!statSync(candidate).isFile()) continue;
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
    throw new Error(`"${command}" was not found on the control plane's PATH`);
  }

  /** The PATH a child gets unless its env sets one. */
  get childPath(): string {
    return this.path;
  }
}
