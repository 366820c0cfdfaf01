// An engine of the gateway store: the data plane's reader and the reconciler's writer, plus its life
// cycle. Only main.ts and tests hold one.
import type { GatewayReader } from './gateway-reader.js';
import type { GatewayWriter } from './gateway-writer.js';

export interface GatewayStore extends GatewayReader, GatewayWriter {
  close(): Promise<void>;
}
