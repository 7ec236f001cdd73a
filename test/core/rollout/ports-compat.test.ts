/** Core cannot import ports, so it mirrors a few port types; these checks keep the mirrors in step. */
import { describe, expectTypeOf, it } from 'vitest';
import type { Sample } from '../../../src/core/analysis/types.js';
import type { HeaderRoute, RouterObservation } from '../../../src/core/rollout/types.js';
import type { VersionSample } from '../../../src/ports/metric-provider.js';
import type { HeaderRoute as PortHeaderRoute, RouterState } from '../../../src/ports/traffic-router.js';

describe('core mirrors of port types', () => {
  it('a provider sample is a core Sample and back', () => {
    expectTypeOf<VersionSample>().toExtend<Sample>();
    expectTypeOf<Sample>().toExtend<VersionSample>();
  });
  it('the router state is a RouterObservation', () => {
    expectTypeOf<RouterState>().toExtend<RouterObservation>();
  });
  it('header routes are interchangeable', () => {
    expectTypeOf<HeaderRoute>().toExtend<PortHeaderRoute>();
    expectTypeOf<PortHeaderRoute>().toExtend<HeaderRoute>();
  });
});
