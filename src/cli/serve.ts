// mcpctl serve: start the control plane in the foreground until SIGINT/SIGTERM.
import { ConfigError, parseServeConfig, serveHelp } from '../config.js';
import { startControlPlane } from '../main.js';

export async function serveCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(serveHelp());
    return 0;
  }
  let config;
  try {
    config = parseServeConfig(argv, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`mcpctl serve: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const cp = await startControlPlane(config);
  process.stderr.write(
    `mcp-control-plane serving on ${cp.url} (public URL ${cp.publicUrl})\n` +
      `Admin token: ${cp.adminTokenSource === 'flag or environment' ? 'as given by --admin-token / MCP_CP_ADMIN_TOKEN' : `in ${cp.adminTokenSource} (read it with: cat ${cp.adminTokenSource})`}\n`,
  );
  await new Promise<void>((resolveStop) => {
    const stop = (signal: string) => {
      process.stderr.write(`received ${signal}, shutting down\n`);
      cp.close().then(resolveStop, resolveStop);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  return 0;
}
