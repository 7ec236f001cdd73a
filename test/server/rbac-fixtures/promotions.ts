import { doc, DIGEST } from '../helpers.js';
import type { RbacFixture } from './types.js';

/** RBAC walk fixtures for the promotion routes. */
export const PROMOTIONS_FIXTURES: RbacFixture[] = [
  {
    // A release of its own service along a one-stage pipeline: the first stage needs no earlier
    // success and a non-production environment needs no change record, so every allowed role gets 201.
    method: 'POST',
    path: '/api/v1/releases/{name}/promotions',
    async prepare(server, unique) {
      const create = async (plural: string, body: unknown) => {
        const created = await server.json('POST', `/api/v1/${plural}`, { body });
        if (created.status !== 201) throw new Error(`${plural}: ${created.status} ${JSON.stringify(created.body)}`);
      };
      await create('environments', doc('Environment', unique, {}));
      await create('services', doc('Service', unique));
      await create('pipelines', doc('Pipeline', unique, { services: [unique], stages: [{ environment: unique }] }));
      await create('releases', doc('Release', unique, { version: '1.0.0', components: [{ service: unique, version: '1.0.0', digest: DIGEST }] }));
      return { path: `/api/v1/releases/${unique}/promotions`, body: { environment: unique } };
    },
  },
  {
    method: 'GET',
    path: '/api/v1/environments/{name}/drift',
    async prepare(server, unique) {
      const created = await server.json('POST', '/api/v1/environments', { body: doc('Environment', unique, {}) });
      if (created.status !== 201) throw new Error(`environment: ${created.status} ${JSON.stringify(created.body)}`);
      return { path: `/api/v1/environments/${unique}/drift` };
    },
  },
  {
    method: 'GET',
    path: '/api/v1/drift',
    async prepare() {
      return { path: '/api/v1/drift' };
    },
  },
];
