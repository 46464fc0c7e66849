/** A task's live output is kept while it holds a lease, and dropped when the lease ends (hub/gateway/progress-tail.ts). */
import type { ProgressTails } from '../gateway/progress-tail.js';
import type { HubBus } from '../service/bus.js';
import { feature, onStop } from './feature.js';

export const progressTailsFeature = feature<{ progress: ProgressTails; bus: HubBus }>('progress-tails', async (app, { progress, bus }) => {
  onStop(
    app,
    bus.on('task.changed', ({ task }) => {
      if (!task.lease) progress.drop(task.id);
    }),
  );
});
