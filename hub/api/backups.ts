/** REST: /v1/backups — take a backup now (answers once it is verified), list the verified ones. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorBody } from '../../shared/errors.js';
import { BackupEntry, BackupList } from '../../shared/rest.js';
import { Ref } from '../../shared/schema.js';
import type { Services } from '../service/index.js';
import { answer, withErrors } from './validation.js';

const error = Ref(ErrorBody);

export function backupRoutes(fastify: FastifyInstance, { backups }: Services): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/v1/backups',
    {
      config: { action: 'backups.write', audit: 'backup.taken' },
      schema: {
        summary: 'Take an online backup now; answers once it is written, synced and verified (the hub keeps serving meanwhile)',
        response: withErrors({ 201: answer('The verified backup: its folder and manifest', BackupEntry) }, error),
      },
    },
    async (_req, reply) => {
      const result = await backups.backup();
      return reply.status(201).send({ dir: result.dir, manifest: result.manifest });
    },
  );

  app.get(
    '/v1/backups',
    {
      config: { action: 'backups.read' },
      schema: { summary: 'The verified backups in <data>/backups, newest first', response: withErrors({ 200: answer('The backups', BackupList) }, error) },
    },
    async () => ({ backups: await backups.list() }),
  );
}
