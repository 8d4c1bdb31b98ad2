import type { Health, ImageModel, StoreHealth } from '../core/system.js';
import { builder } from './builder.js';
import { DateTimeScalar } from './scalars.js';

const EngineRef = builder.objectRef<NonNullable<Health['engine']>>('Engine').implement({
  fields: (t) => ({
    name: t.exposeString('name', { description: '"podman" or "docker".' }),
    version: t.exposeString('version'),
    apiVersion: t.exposeString('apiVersion'),
    os: t.exposeString('os'),
    arch: t.exposeString('arch'),
  }),
});

const HealthRef = builder.objectRef<Health>('Health').implement({
  fields: (t) => ({
    healthy: t.exposeBoolean('healthy', { description: 'Whether the engine answered.' }),
    engine: t.field({ type: EngineRef, nullable: true, resolve: (h) => h.engine }),
    engineError: t.exposeString('engineError', { nullable: true }),
    uptimeSeconds: t.exposeFloat('uptimeSeconds'),
    timestamp: t.field({ type: DateTimeScalar, resolve: (h) => h.timestamp }),
  }),
});

const StoreHealthRef = builder.objectRef<StoreHealth>('StoreHealth').implement({
  description: 'The history database.',
  fields: (t) => ({
    database: t.exposeString('database', { description: '"sqlite" (DATA_DIR) or "postgres" (DATABASE_URL).' }),
    healthy: t.exposeBoolean('healthy'),
    error: t.exposeString('error', { nullable: true }),
  }),
});

builder.objectField(HealthRef, 'store', (t) => t.field({ type: StoreHealthRef, resolve: (_, __, ctx) => ctx.services.system.storeHealth() }));

const ImageRef = builder.objectRef<ImageModel>('Image').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    tags: t.exposeStringList('tags'),
    sizeBytes: t.exposeFloat('sizeBytes'),
    createdAt: t.field({ type: DateTimeScalar, resolve: (i) => i.createdAt }),
  }),
});

builder.queryFields((t) => ({
  health: t.field({ type: HealthRef, authScopes: { viewer: true }, resolve: (_, __, ctx) => ctx.services.system.health() }),
  images: t.field({ type: [ImageRef], description: 'Local images.', authScopes: { viewer: true }, resolve: (_, __, ctx) => ctx.services.system.images() }),
}));
