// The session with the server: the WebSocket (which reconnects by itself, connection.js), the
// signed login, and what a reconnect resumes: each room this page was in from the last message
// it has, private messages from the last one here, and what waited in the outbox (the same ids,
// stored once). The page is told what arrives, and when the connection goes and comes back.
import { b64, unb64 } from "./haven-protocol.js";
import { Connection } from "./connection.js";
import { t } from "./strings.js";

// The most proof of work a page does: what a Haven server asks at the height of a flood (20 bits)
// and a margin; a server asking more is not doing what Haven servers do.
const maxWork = 22;

export class Session {
  /** `anchors` say where the server is and which server name to expect; `name()` is the member's
   *  name; `rooms`, `calls` and `outbox` are the page's; `roomKind(room)` says whether a room is
   *  private; `frame(frame)` gets every other frame; `welcomed()` runs once logged in;
   *  `said(text)` is the status line; `bar` the "reconnecting" bar; `dropped()` runs when the
   *  connection is lost (what waited for an answer on it will not get one); the page's body says whether
   *  the session is open (`data-session`: "open" or "down"), for whoever looks at it. */
  constructor(options) {
    Object.assign(this, options, { connection: null, cursors: new Map(), directCursor: 0 });
  }

  /** Whether Start was pressed (the session may be down for a moment, reconnecting). */
  get started() { return this.connection !== null; }

  /** Whether frames can be sent now. */
  get isOpen() { return Boolean(this.connection?.isOpen); }

  /** Sends one frame; false when the connection is down. */
  send(frame) { return this.connection?.send(frame) ?? false; }

  /** Connects, and keeps reconnecting after a drop until `stop`. */
  start() {
    this.said(t("connecting"));
    this.connection = new Connection({ url: this.anchors.webSocket, onFrame: (frame) => this.received(frame), onDown: () => this.lost() });
    this.connection.open();
  }

  /** Closes for good (quick exit, a ban, the wrong server, leaving this device). */
  stop() {
    this.connection?.stop();
    this.bar.hidden = true;
  }

  received(frame) {
    this.track(frame);
    if (frame.type === "challenge") { this.signIn(frame); return; }
    if (frame.type === "welcome") { this.resume(); return; }
    if (this.rooms.received(frame)) return;
    this.frame(frame);
  }

  // Where this page is in each stream, to resume from after a reconnect.
  track(frame) {
    const at = (room, cursor) => this.cursors.set(room, Math.max(this.cursors.get(room) ?? 0, cursor));
    if (frame.type === "message" && frame.cursor) at(frame.envelope.room, frame.cursor);
    if (frame.type === "synced" && frame.room && frame.cursor) at(frame.room, frame.cursor);
    if (frame.type === "direct" && frame.cursor) this.directCursor = Math.max(this.directCursor, frame.cursor);
  }

  // The login: signed for the server this page was set up for, and no other. Until this page
  // has been welcomed once, the identity may be new to the server, so it shows the work the
  // challenge asks for (a fraction of a second normally, more while the server is flooded).
  async signIn(frame) {
    if (this.anchors.serverName && frame.server !== this.anchors.serverName) {
      this.said(t("wrongService"));
      this.stop();
      return;
    }
    const { sodium, protocol, me } = this;
    const nonce = unb64(frame.nonce);
    const signature = sodium.sign(protocol.authSignedBytes(frame.server, nonce, me.publicKey), me.secretKey);
    const auth = { type: "auth", member: b64(me.publicKey), signature: b64(signature), displayName: this.name() };
    if (frame.work > 0 && !this.welcomedOnce) {
      // One solve per challenge: a connection that drops meanwhile takes its challenge with it,
      // and the answer is never sent on another. A server cannot ask for more than the most any
      // Haven server asks (docs/crypto.md).
      const attempt = this.challenges = (this.challenges ?? 0) + 1;
      this.said(t("preparingIdentity"));
      const slow = setTimeout(() => { if (this.challenges === attempt) this.said(t("preparingIdentitySlowly")); }, 3000);
      const proof = await protocol.solveProofOfWork(frame.server, nonce, me.publicKey, Math.min(frame.work, maxWork), () => this.challenges !== attempt);
      clearTimeout(slow);
      if (!proof || this.challenges !== attempt) return;
      auth.proof = b64(proof);
    }
    this.send(auth);
  }

  // The server does not know this identity (its records were restored from an older backup, or
  // it forgot an identity idle for long): the next login shows the work a new identity shows.
  forgotten() {
    this.welcomedOnce = false;
  }

  // Logged in: the rooms this page was in are joined again from where it was, private messages
  // resume from the last one here, and what waited goes out.
  resume() {
    this.welcomedOnce = true;
    this.connection.established();
    this.bar.hidden = true;
    this.bar.ownerDocument.body.dataset.session = "open";
    this.said(t("connected"));
    this.send({ type: "listRooms" });
    this.send({ type: "syncDirect", after: this.directCursor });
    for (const room of this.rooms.rejoining) {
      const join = this.rooms.joinFrame(room, { private: this.roomKind(room) === "private", after: this.cursors.get(room) ?? 0 });
      if (join) this.send(join);
    }
    this.outbox.reconnected();
    this.welcomed();
  }

  // The connection dropped: what is typed is kept and sent when it is back (the outbox), and the
  // page says so while it reconnects by itself.
  lost() {
    this.challenges = (this.challenges ?? 0) + 1;
    this.bar.hidden = false;
    this.bar.ownerDocument.body.dataset.session = "down";
    this.said(t("reconnecting"));
    this.rooms.disconnected();
    this.calls.disconnected();
    this.dropped();
  }
}
