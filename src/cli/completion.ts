// mcpctl completion bash|zsh: a shell completion script for commands, their flags (read from each
// command's --help text, so they cannot drift), kinds of `get`, and server names (mcpctl __names).
import { serveHelp } from '../config.js';
import { APPLY_HELP } from './apply.js';
import { startCommand, usageError } from './command.js';
import { DELETE_HELP } from './delete.js';
import { DESCRIBE_HELP } from './describe.js';
import { DIFF_HELP } from './diff.js';
import { GET_HELP, GET_KINDS } from './get.js';
import { HISTORY_HELP } from './history.js';
import { ROLLBACK_HELP } from './rollback.js';
import { EXIT_OK, type CliIo } from './io.js';
import { TOKEN_HELP } from './token.js';
import { VALIDATE_HELP } from './validate.js';
import { VERSION_HELP } from './version.js';
import { WATCH_HELP } from './watch.js';

const FLAGS = { help: { kind: 'boolean', short: 'h' } } as const;

export const COMPLETION_HELP = `Usage: mcpctl completion bash|zsh

Prints a shell completion script. Load it with:
  bash:  source <(mcpctl completion bash)      (or save it under /etc/bash_completion.d/)
  zsh:   source <(mcpctl completion zsh)       (after compinit; or save it as _mcpctl on your fpath)

Flags:
  -h, --help   This help.
`;

/** The commands and the flags each takes, as their help texts list them. */
function commandFlags(): Record<string, string[]> {
  const helps: Record<string, string> = {
    serve: serveHelp(),
    validate: VALIDATE_HELP,
    diff: DIFF_HELP,
    apply: APPLY_HELP,
    get: GET_HELP,
    describe: DESCRIBE_HELP,
    delete: DELETE_HELP,
    history: HISTORY_HELP,
    rollback: ROLLBACK_HELP,
    watch: WATCH_HELP,
    token: TOKEN_HELP,
    version: VERSION_HELP,
    completion: COMPLETION_HELP,
  };
  return Object.fromEntries(Object.entries(helps).map(([cmd, help]) => [cmd, [...new Set(help.match(/(?<=\s)--[a-z][a-z0-9-]*/g) ?? [])].sort()]));
}

/** Commands whose positional arguments are server names. */
const NAME_COMMANDS = ['get', 'describe', 'delete', 'watch', 'history', 'rollback'];

function bashScript(flags: Record<string, string[]>): string {
  const cases = Object.entries(flags)
    .map(([cmd, f]) => `    ${cmd}) flags="${f.join(' ')}" ;;`)
    .join('\n');
  return `# mcpctl bash completion: source <(mcpctl completion bash)
_mcpctl() {
  local cur cmd flags words_
  cur="\${COMP_WORDS[COMP_CWORD]}"
  if [ "\${COMP_CWORD}" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${Object.keys(flags).join(' ')} help" -- "\${cur}") )
    return 0
  fi
  cmd="\${COMP_WORDS[1]}"
  case "\${cmd}" in
${cases}
    *) flags="" ;;
  esac
  case "\${cur}" in
    -*) COMPREPLY=( $(compgen -W "\${flags}" -- "\${cur}") ); return 0 ;;
  esac
  case "\${COMP_WORDS[COMP_CWORD-1]}" in
    -f|--filename) COMPREPLY=( $(compgen -f -- "\${cur}") ); return 0 ;;
    -o|--output) COMPREPLY=( $(compgen -W "table wide json yaml text line" -- "\${cur}") ); return 0 ;;
  esac
  case "\${cmd}" in
    completion) COMPREPLY=( $(compgen -W "bash zsh" -- "\${cur}") ) ;;
    ${NAME_COMMANDS.join('|')})
      words_="$(mcpctl __names 2>/dev/null)"
      if [ "\${cmd}" = get ] && [ "\${COMP_CWORD}" -eq 2 ]; then words_="${GET_KINDS.join(' ')} \${words_}"; fi
      COMPREPLY=( $(compgen -W "\${words_}" -- "\${cur}") ) ;;
  esac
  return 0
}
complete -F _mcpctl mcpctl
`;
}

function zshScript(flags: Record<string, string[]>): string {
  const cases = Object.entries(flags)
    .map(([cmd, f]) => `    ${cmd}) flags=(${f.join(' ')}) ;;`)
    .join('\n');
  return `#compdef mcpctl
# mcpctl zsh completion: source <(mcpctl completion zsh) (after compinit)
_mcpctl() {
  local -a commands flags names
  commands=(${Object.keys(flags).join(' ')} help)
  if (( CURRENT == 2 )); then
    compadd -- $commands
    return
  fi
  case $words[2] in
${cases}
    *) flags=() ;;
  esac
  if [[ $PREFIX == -* ]]; then
    compadd -- $flags
    return
  fi
  case $words[CURRENT-1] in
    -f|--filename) _files; return ;;
    -o|--output) compadd -- table wide json yaml text line; return ;;
  esac
  case $words[2] in
    completion) compadd -- bash zsh ;;
    ${NAME_COMMANDS.join('|')})
      names=(\${(f)"$(mcpctl __names 2>/dev/null)"})
      if [[ $words[2] == get && CURRENT == 3 ]]; then names+=(${GET_KINDS.join(' ')}); fi
      compadd -- $names ;;
  esac
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _mcpctl "$@"
else
  compdef _mcpctl mcpctl
fi
`;
}

export async function runCompletion(argv: string[], io: CliIo): Promise<number> {
  const started = startCommand('completion', argv, io, FLAGS, COMPLETION_HELP);
  if (!started.ok) return started.code;
  const [shell, ...extra] = started.positionals;
  if (shell === undefined || extra.length > 0 || (shell !== 'bash' && shell !== 'zsh')) {
    return usageError(io, 'completion', `needs one shell, bash or zsh${shell !== undefined ? `; got ${started.positionals.join(' ')}` : ''}`);
  }
  io.stdout.write(shell === 'bash' ? bashScript(commandFlags()) : zshScript(commandFlags()));
  return EXIT_OK;
}

/** mcpctl __names: the server names, one a line, for completion; prints nothing when the server cannot be asked. */
export async function runNames(io: CliIo): Promise<number> {
  const { resolveClient } = await import('./client.js');
  const { listServers } = await import('./resources.js');
  const resolved = resolveClient({}, io);
  if (!resolved.ok) return EXIT_OK;
  try {
    for (const s of await listServers(resolved.client)) io.stdout.write(`${s.name}\n`);
  } catch {
    // Completion offers no names then.
  }
  return EXIT_OK;
}
