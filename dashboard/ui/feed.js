// The live feed: a WebSocket authenticated by the `bearer.<token>` subprotocol (no token in the URL),
// reconnecting with exponential backoff and full jitter. Each (re)connect starts with the hub's hello,
// which the store treats as a fresh snapshot; views refetch what they show (onOpen).
export const FEED_PROTOCOL = 'switchyard.v1';
// Offered first: the hub then sends each turn of its event loop as one `batch` message (one parse
// per commit, not per change). An older hub answers FEED_PROTOCOL and sends messages one by one.
export const FEED_BATCH_PROTOCOL = 'switchyard.v1.batch';

export function connectFeed({ token, onFrame, onState, onOpen, onRefused, baseMs = 500, maxMs = 15000 }) {
  let ws = null;
  let attempt = 0;
  let timer = null;
  let stopped = false;

  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/feed`;

  function open() {
    if (stopped) return;
    onState('connecting');
    let opened = false;
    ws = new WebSocket(url, [FEED_BATCH_PROTOCOL, FEED_PROTOCOL, `bearer.${token}`]);
    ws.onopen = () => { opened = true; attempt = 0; onState('live'); onOpen(); };
    ws.onmessage = (ev) => {
      let frame;
      try { frame = JSON.parse(ev.data); } catch { return; }
      if (frame.type === 'batch') for (const m of frame.messages) onFrame(m);
      else onFrame(frame);
    };
    ws.onclose = () => {
      ws = null;
      if (stopped) return;
      // A refused upgrade never opens: check the token over REST before hammering the socket.
      if (!opened && attempt >= 1) onRefused?.();
      const delay = Math.random() * Math.min(maxMs, baseMs * 2 ** attempt);
      attempt++;
      onState('reconnecting', delay);
      timer = setTimeout(open, delay);
    };
    ws.onerror = () => {};
  }

  open();
  return {
    close() { stopped = true; clearTimeout(timer); ws?.close(); },
    /** For tests and the operator: drop the socket now (it reconnects). */
    drop() { ws?.close(); },
  };
}
