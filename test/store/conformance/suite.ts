// The store conformance suite: every case of every port, against one engine factory. An engine's test
// file calls describeStoreConformance with its factory; the cases do not change per engine.
import { FakeClock } from '../../support/fake-clock.js';
import { accountSelectionCases } from './account-selection.js';
import { changelogCases } from './changelog.js';
import { changelogCompactionCases } from './changelog-compaction.js';
import type { StoreEngine, StoreEngineFactory } from './engine.js';
import { eventCases } from './events.js';
import { credentialCases } from './credentials.js';
import { gatewayCases } from './gateway.js';
import { gatewayCountCases } from './gateway-count.js';
import { listKeyCases } from './list-keys.js';
import { listTotalCases } from './list-totals.js';
import { readinessCountCases } from './readiness-counts.js';
import { replicaCases } from './replicas.js';
import { resourceCases } from './resources.js';
import { revisionCases } from './revisions.js';
import { selectionCases } from './selections.js';
import { sourceInventoryCases } from './source-inventory.js';
import { statusCases } from './status.js';
import { syncStateCases } from './sync-states.js';
import { transactionCases } from './transactions.js';

export function describeStoreConformance(factory: StoreEngineFactory): void {
  describe(`store conformance: ${factory.name}`, () => {
    let engine: StoreEngine | undefined;
    beforeEach(async () => {
      engine = await factory.open({ clock: new FakeClock(Date.parse('2026-01-01T00:00:00Z')) });
    });
    afterEach(async () => {
      await engine?.dispose();
      engine = undefined;
    });
    const current = () => engine!;
    resourceCases(current);
    selectionCases(current);
    accountSelectionCases(current);
    statusCases(current);
    changelogCases(current);
    changelogCompactionCases(current, factory);
    eventCases(current);
    sourceInventoryCases(current);
    transactionCases(current);
    gatewayCases(current);
    credentialCases(current, factory);
    gatewayCountCases(current);
    readinessCountCases(current);
    listTotalCases(current);
    listKeyCases(current);
    syncStateCases(current);
    replicaCases(current);
    revisionCases(current, factory);
  });
}
