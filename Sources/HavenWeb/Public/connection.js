// The connection to the Haven server. It opens when the member starts, and after a drop (a server
// restart, a phone changing networks) it opens again by itself, with growing pauses (0.5 s, 1 s,
// 2 s ... 15 s, with jitter so a restarted server is not hit by everyone at once), until it is
// stopped for good (the member left, was banned, or the server is not the one the page pins).

export class Connection {
  /** `onFrame(frame)` hears every frame; `onDown()` is told each time the connection drops. */
  constructor({ url, onFrame, onDown, WebSocketType = WebSocket, random = Math.random, schedule = (run, ms) => setTimeout(run, ms) }) {
    Object.assign(this, { url, onFrame, onDown, WebSocketType, random, schedule, socket: null, attempts: 0, stopped: false });
  }

  get isOpen() { return this.socket?.readyState === this.WebSocketType.OPEN; }

  open() {
    if (this.stopped) return;
    const socket = new this.WebSocketType(this.url);
    this.socket = socket;
    socket.addEventListener("message", (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch { return; }
      this.onFrame(frame);
    });
    socket.addEventListener("close", () => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.stopped) return;
      this.onDown();
      const pause = Math.min(15000, 500 * 2 ** this.attempts) * (0.5 + this.random() / 2);
      this.attempts += 1;
      this.schedule(() => this.open(), pause);
    });
  }

  /** The server took this member in (welcome): the next drop starts from the shortest pause. */
  established() { this.attempts = 0; }

  /** Sends one frame; false when the connection is down (the caller keeps what it meant to send). */
  send(frame) {
    if (!this.isOpen) return false;
    this.socket.send(JSON.stringify({ v: 1, ...frame }));
    return true;
  }

  /** Closes for good: no reconnecting. */
  stop() {
    this.stopped = true;
    this.socket?.close();
  }
}
