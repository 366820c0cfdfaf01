// A GatewayReader over the host's own connection to the gateway store, whose watch() listeners also hear
// the fqns the control plane pushes after each of its commits: a change reaches the sessions at once,
// without waiting for the poll of externalRevision (which stays, as the backstop).
import type { GatewayReader } from '../../store/gateway-reader.js';

export class PushedGatewayReader implements GatewayReader {
  private readonly listeners = new Set<(fqn: string) => void>();

  constructor(private readonly store: GatewayReader) {}

  get: GatewayReader['get'] = (fqn) => this.store.get(fqn);
  list: GatewayReader['list'] = () => this.store.list();
  keys: GatewayReader['keys'] = () => this.store.keys();
  syncStates: GatewayReader['syncStates'] = () => this.store.syncStates();
  count: GatewayReader['count'] = () => this.store.count();
  externalRevision: GatewayReader['externalRevision'] = () => this.store.externalRevision();

  watch(listener: (fqn: string) => void): () => void {
    const own = this.store.watch(listener);
    this.listeners.add(listener);
    return () => {
      own();
      this.listeners.delete(listener);
    };
  }

  /** The control plane wrote these entries (committed). */
  pushed(fqns: readonly string[]): void {
    for (const fqn of fqns) {
      for (const listener of [...this.listeners]) {
        try {
          listener(fqn);
        } catch {
          // One listener's failure is not the others'.
        }
      }
    }
  }
}
