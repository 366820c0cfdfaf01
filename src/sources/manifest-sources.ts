// Every watched manifest directory of the control plane, started and stopped together.
import type { Logger } from '../domain/logger.js';
import type { FileTakeover } from '../intake/index.js';
import type { McpServerResource } from '../domain/resource.js';
import { DirectorySource, type DirectorySourceOptions } from './directory-source.js';
import type { RootHandover, SourceStatus } from './directory-sync.js';

export interface ManifestSourcesOptions extends Omit<DirectorySourceOptions, 'root'> {
  /** The watched directories as configured. Two entries naming one directory are watched once. */
  roots: readonly string[];
}

export class ManifestSources {
  readonly sources: DirectorySource[];
  private readonly logger: Logger;
  private synced = false;

  constructor(options: ManifestSourcesOptions) {
    const { roots, ...rest } = options;
    const byRoot = new Map<string, DirectorySource>();
    // A name moves between roots when the root it leaves holds it back from pruning (see RootHandover).
    const handover: RootHandover = {
      releases: (root, path, name) => byRoot.get(root)?.releases(path, name) ?? false,
      released: (root, names) => {
        for (const source of byRoot.values()) if (source.root !== root) source.retryDeclaring(names);
      },
      taken: (root, path) => byRoot.get(root)?.reread([path]),
    };
    for (const root of roots) {
      const source = new DirectorySource({ ...rest, root, handover, logger: options.logger.child({ component: 'sources', root }) });
      if (!byRoot.has(source.root)) byRoot.set(source.root, source);
    }
    this.sources = [...byRoot.values()];
    this.logger = options.logger;
  }

  /** Watches every directory and runs the first full sync of each; resolves when all are synced. */
  async start(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.start()));
    this.synced = true;
    if (this.sources.length > 0) this.logger.info({ roots: this.sources.map((s) => s.root) }, 'manifest directories synced and watched');
  }

  /** undefined once the first sync of every directory is done; otherwise why not. */
  notReadyReason(): string | undefined {
    return this.synced ? undefined : 'starting: the first sync of the manifest directories has not finished';
  }

  async stop(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.stop()));
  }

  /**
   * A forced API write or delete took `taken.name` from the file `path` of the watched directory `root`:
   * the file is read again in its next batch, so its ownership error shows at once (nothing if not watched).
   */
  taken(root: string, path: string, taken: FileTakeover): void {
    this.sources.find((s) => s.root === root)?.taken(path, taken);
  }

  /** The admission policies changed: every watched directory reads its refused files again. */
  retryRefused(): void {
    for (const source of this.sources) source.retryRefused();
  }

  list(canRead?: (r: McpServerResource) => boolean): Promise<SourceStatus[]> {
    return Promise.all(this.sources.map((s) => s.status(canRead)));
  }
}
