// GatewayReader.count: the number of stored entries, kept by the database on every insert and delete (a
// counter, not a scan), rolled back with the unit that wrote it, and the same on another connection.
import type { StoreEngine } from './engine.js';
import { fqnOf, gatewayEntry } from './fixtures.js';

export function gatewayCountCases(engine: () => StoreEngine): void {
  describe('gateway entry count', () => {
    it('follows inserts and deletes, not rewrites, and a unit that rolls back', async () => {
      const { gateway } = engine();
      expect(await gateway.count()).toBe(0);
      await gateway.apply(gatewayEntry('a'));
      await gateway.apply(gatewayEntry('b'));
      expect(await gateway.count()).toBe(2);
      await gateway.apply(gatewayEntry('a', 2));
      expect(await gateway.count()).toBe(2);
      expect(await gateway.delete(fqnOf('a'))).toBe(true);
      expect(await gateway.delete(fqnOf('a'))).toBe(false);
      expect(await gateway.count()).toBe(1);
      await expect(
        gateway.transaction(async () => {
          await gateway.apply(gatewayEntry('c'));
          await gateway.delete(fqnOf('b'));
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      expect(await gateway.count()).toBe(1);
      expect((await gateway.keys()).length).toBe(1);
      const other = await engine().connect?.();
      if (other) {
        await other.gateway.apply(gatewayEntry('d'));
        expect(await gateway.count()).toBe(2);
      }
    });
  });
}
