/** Pings every socket (hub/gateway/pinger.ts); when the hub stops, closes them all (1001) once every other feature has stopped. */
import { CLOSE } from '../gateway/close-codes.js';
import type { Pinger } from '../gateway/pinger.js';
import { feature, onStop } from './feature.js';

export const pingerFeature = feature<{ pinger: Pinger }>('pinger', async (app, { pinger }) => {
  pinger.start();
  onStop(app, () => {
    pinger.stop();
    pinger.closeAll(CLOSE.GOING_AWAY, 'hub shutting down');
  });
});
