// One EventSource on /api/v1/stream for the whole page: the hub sends `notification`, `metrics.updated` and
// `goal.progress`; pages subscribe while they are on screen. The browser reconnects by itself after a drop
// ('reconnected' then tells pages to read again); when it gives up, a 401 from /api/v1/me means the session
// ended ('signed-out'), anything else a hiccup.

const TYPES = ['notification', 'metrics.updated', 'goal.progress'];

export class LiveStream {
  constructor(url) {
    this.url = url;
    this.handlers = new Map();
    this.closed = false;
    this.opened = false;
    this.connect();
    // A page kept in the back-forward cache would hold its stream open: over HTTP/1.1 a browser has six
    // connections per host, and a few such pages would leave the current one waiting for its requests.
    window.addEventListener('pagehide', () => this.source.close());
    window.addEventListener('pageshow', event => { if (event.persisted && !this.closed) this.connect(); });
  }

  connect() {
    const source = new EventSource(this.url);
    this.source = source;
    for (const type of TYPES) {
      source.addEventListener(type, event => {
        let data;
        try {
          data = JSON.parse(event.data);
        } catch {
          return;
        }
        this.emit(type, data);
      });
    }
    source.addEventListener('open', () => {
      document.documentElement.dataset.live = 'open';
      // Events while the stream was away are not replayed: whoever shows live data reads it again.
      if (this.opened) this.emit('reconnected', null);
      this.opened = true;
    });
    source.addEventListener('error', () => {
      document.documentElement.dataset.live = 'closed';
      if (source.readyState === EventSource.CLOSED) this.checkSession();
    });
  }

  async checkSession() {
    const response = await fetch('/api/v1/me', { credentials: 'same-origin' }).catch(() => null);
    if (this.closed) return;
    if (response?.status === 401) {
      this.close();
      this.emit('signed-out', null);
    } else {
      setTimeout(() => { if (!this.closed) this.connect(); }, 5000);
    }
  }

  on(type, handler) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(handler);
    return () => this.handlers.get(type)?.delete(handler);
  }

  emit(type, data) {
    for (const handler of this.handlers.get(type) ?? []) handler(data);
  }

  close() {
    this.closed = true;
    this.source.close();
  }
}
