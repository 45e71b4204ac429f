// One-to-one calls over WebRTC. Every signalling step travels as a sealed, signed direct message
// that the server routes without reading. Each side signs its DTLS certificate's fingerprint in
// its ring or accept; a session description naming another fingerprint, or a media connection
// presenting another certificate, ends the call before anything is said. Nothing is recorded.
import { b64, unb64 } from "./haven-protocol.js";
import { t } from "./strings.js";

const $ = (id) => document.getElementById(id);
const clock = (seconds) => `${String(Math.floor(seconds / 60)).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}`;
// The server's reasons for ending a call, each with the catalog key of what a member reads for it.
const endedReasons = {
  no_answer: "callEndedNoAnswer",
  disconnected: "callEndedPeerDisconnected",
  sanctioned: "callEndedSanctioned",
  answered_elsewhere: "callEndedAnsweredElsewhere",
  too_many_signals: "callEndedTooManySignals",
};
const qualities = { good: "qualityGood", fair: "qualityFair", poor: "qualityPoor" };

/** A fresh DTLS certificate for one call, and the fingerprint its owner signs. */
async function newCertificate() {
  const certificate = await RTCPeerConnection.generateCertificate({ name: "ECDSA", namedCurve: "P-256" });
  const print = certificate.getFingerprints().find((f) => f.algorithm === "sha-256");
  if (!print) throw new Error(t("callErrorNoFingerprint"));
  return { certificate, fingerprint: `sha-256 ${print.value.toUpperCase()}` };
}

// Why the server would not carry a call, in the page's words.
const callRefusals = {
  calls_blocked: "callReasonNotTakingCalls", busy: "callReasonBusy", callee_unavailable: "callReasonUnavailable",
  declined_recently: "callReasonDeclinedRecently", ring_rate_limited: "callReasonTooMany", address_ring_rate_limited: "callReasonNetworkTooMany", already_in_call: "callReasonAlreadyInCall",
  suspended: "callReasonSuspended", not_allowed_to_call: "callReasonNotAllowed", no_such_call: "callReasonEnded",
};

/** What the other side's hangup means, in the page's words. */
function hangupWords(reason, name) {
  if (reason === "fingerprint mismatch") return t("callPeerCheckFailed");
  if (reason === "no relay") return t("callPeerNeedsRelay", { name });
  return t("callPeerEnded", { name });
}

/** The call state machine and its panel. */
export class Calls {
  /**
   * @param options.sodium the libsodium binding (for call ids)
   * @param options.protocol haven-protocol.js bound to sodium
   * @param options.me this device's identity
   * @param options.send sends one frame to the server
   * @param options.nameOf a member id -> display name
   * @param options.turn resolves to TURN credentials for a call id, or null when there are none
   * @param options.relayAvailable whether the service has a relay for calls
   * @param options.relayOnly says whether to use only relayed ICE candidates (never reveal this
   *   device's address): always for a member who did not allow a direct connection
   */
  constructor({ sodium, protocol, me, send, nameOf, turn, relayOnly, relayAvailable }) {
    Object.assign(this, { sodium, protocol, me, send, nameOf, turn, relayOnly, relayAvailable });
    this.current = null;
    this.title = null;           // the page title while an incoming call changes it
    $("call-accept-video").addEventListener("click", () => this.accept(true));
    $("call-accept-audio").addEventListener("click", () => this.accept(false));
    $("call-decline").addEventListener("click", () => this.decline());
    $("call-incoming").addEventListener("keydown", (event) => { if (event.key === "Escape") this.decline(); });
    $("call-hangup").addEventListener("click", () => this.hangUp());
    $("call-mute").addEventListener("click", () => this.toggle("audio", $("call-mute"), t("muteButton"), t("unmuteButton")));
    $("call-camera").addEventListener("click", () => this.toggle("video", $("call-camera"), t("cameraOffButton"), t("cameraOnButton")));
    $("call-audio-only").addEventListener("click", () => this.switchToAudioOnly());
    $("call-close").addEventListener("click", () => { $("call").hidden = true; });
  }

  /** The member's standing preference: never open the camera. */
  get audioOnly() { return $("audio-only").checked; }

  /** Rings `peer`; `media` is "video" or "audio" (always audio with the audio-only preference). */
  async start(peer, media) {
    if (this.current) { this.show(t("callAlreadyInCall")); return; }
    // Said before anyone is rung, not after they answer.
    if (this.relayOnly() && !this.relayAvailable) { this.show(t("callNeedsRelay")); return; }
    const call = await this.prepare(peer, this.audioOnly ? "audio" : media);
    this.signal({ kind: "ring", media: call.media, fingerprint: call.fingerprint });
    this.show(t(call.media === "video" ? "callCallingVideo" : "callCallingAudio", { name: this.nameOf(peer) }), { controls: true });
    $("call-hangup").focus();
  }

  /** A signalling step from `sender`, already opened and verified. */
  async received(signal, sender) {
    if (signal.kind === "ring") { this.ringing(signal, sender); return; }
    const call = this.current;
    if (!call || call.id !== signal.call || call.peer !== sender) return;
    try {
      switch (signal.kind) {
        case "accept":
          if (call.role !== "caller") return;
          call.peerFingerprint = signal.fingerprint;
          if (signal.media === "audio") call.media = "audio";
          await this.connect();
          await call.pc.setLocalDescription(await call.pc.createOffer());
          this.signal({ kind: "offer", sdp: call.pc.localDescription.sdp });
          this.show(t("callConnecting", { name: this.nameOf(call.peer) }), { controls: true });
          break;
        case "offer":
          if (call.role !== "callee" || !this.matchesSignedFingerprint(signal.sdp)) return;
          await call.ready;
          await call.pc.setRemoteDescription({ type: "offer", sdp: signal.sdp });
          call.stream.getTracks().forEach((track) => call.pc.addTrack(track, call.stream));
          await this.remoteDescribed();
          await call.pc.setLocalDescription(await call.pc.createAnswer());
          this.signal({ kind: "answer", sdp: call.pc.localDescription.sdp });
          break;
        case "answer":
          if (call.role !== "caller" || !this.matchesSignedFingerprint(signal.sdp)) return;
          await call.pc.setRemoteDescription({ type: "answer", sdp: signal.sdp });
          await this.remoteDescribed();
          break;
        case "ice":
          if (call.pc?.remoteDescription) await call.pc.addIceCandidate(JSON.parse(signal.candidate));
          else call.candidates.push(JSON.parse(signal.candidate));
          break;
        case "media":
          $("remote-media").classList.toggle("audio-only", signal.media === "audio");
          this.note(t("callPeerAudioOnly", { name: this.nameOf(call.peer) }));
          break;
        case "decline": this.end(t("callPeerDeclined", { name: this.nameOf(call.peer) })); break;
        case "busy": this.end(t("callPeerBusy", { name: this.nameOf(call.peer) })); break;
        case "hangup": this.end(hangupWords(signal.reason, this.nameOf(call.peer))); break;
      }
    } catch (error) {
      this.abort(t("callFailed", { reason: error.message }));
    }
  }

  /** The server ended the call (no answer, the other side left, a sanction...). */
  serverEnded(frame) {
    if (this.current?.id === frame.call) this.end(t(endedReasons[frame.reason] ?? "callEnded"));
  }

  /** The server refused a step of the current call. */
  refused(error) {
    if (this.current?.id === error.call) this.end(t("callRefused", { reason: callRefusals[error.code] ? t(callRefusals[error.code]) : error.message }));
  }

  /** The connection to the server closed: a call cannot carry on without its signalling. */
  disconnected() {
    if (this.current) this.end(t("callEndedOffline"));
  }

  // MARK: the callee's side

  ringing(signal, sender) {
    if (this.current) {
      this.sendTo(sender, { call: signal.call, kind: "busy" });
      return;
    }
    this.current = { id: signal.call, peer: sender, role: "callee", media: signal.media, peerFingerprint: signal.fingerprint, candidates: [] };
    const video = signal.media === "video" && !this.audioOnly;
    $("call-accept-video").hidden = !video;
    $("call-accept-audio").textContent = t(video ? "acceptAudioOnlyButton" : "acceptAsAudioButton");
    this.show(t(signal.media === "video" ? "callIncomingVideo" : "callIncomingAudio", { name: this.nameOf(sender) }), { incoming: true });
    this.title = document.title;
    document.title = t("incomingCallTitle", { title: this.title });
    (video ? $("call-accept-video") : $("call-accept-audio")).focus();
  }

  async accept(withVideo) {
    const call = this.current;
    if (!call || call.role !== "callee" || call.accepted) return;
    call.accepted = true;
    call.media = withVideo && call.media === "video" && !this.audioOnly ? "video" : "audio";
    Object.assign(call, await newCertificate());
    call.ready = this.connect();
    this.signal({ kind: "accept", media: call.media, fingerprint: call.fingerprint });
    this.show(t("callConnecting", { name: this.nameOf(call.peer) }), { controls: true });
    $("call-hangup").focus();
    try { await call.ready; } catch (error) { this.abort(t("callFailed", { reason: error.message })); }
  }

  decline() {
    if (this.current?.role !== "callee") return;
    this.signal({ kind: "decline", reason: "declined" });
    this.end(t("callYouDeclined"));
  }

  // MARK: both sides

  /** The caller's new call: a random id and a fresh certificate. */
  async prepare(peer, media) {
    this.current = { id: b64(this.sodium.randomBytes(16)), peer, role: "caller", media, candidates: [], ...(await newCertificate()) };
    return this.current;
  }

  /** Opens the microphone (and the camera only for a video call) and the peer connection. */
  async connect() {
    const call = this.current;
    const relay = await this.turn(call.id);
    const relayOnly = this.relayOnly();
    // Without a relay, a direct connection would show this device's address: not unless allowed.
    if (relayOnly && !relay) {
      this.abort(t("callNeedsRelay"), "no relay");
      throw new Error(t("callNeedsRelay"));
    }
    const servers = relay ? [{ urls: relay.urls, username: relay.username, credential: relay.credential }] : [];
    call.pc = new RTCPeerConnection({
      iceServers: servers, certificates: [call.certificate], iceTransportPolicy: relayOnly ? "relay" : "all",
    });
    call.stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: call.media === "video" });
    if (this.current !== call) { call.stream.getTracks().forEach((track) => track.stop()); throw new Error(t("callErrorEnded")); }
    if (call.role === "caller") call.stream.getTracks().forEach((track) => call.pc.addTrack(track, call.stream));
    $("local-media").srcObject = call.stream;
    $("local-media").hidden = call.media !== "video";
    $("call-camera").hidden = $("call-audio-only").hidden = call.media !== "video";
    call.pc.onicecandidate = ({ candidate }) => {
      if (candidate) this.signal({ kind: "ice", candidate: JSON.stringify(candidate.toJSON()) });
    };
    call.pc.ontrack = ({ streams }) => {
      $("remote-media").srcObject = streams[0];
      $("remote-media").hidden = call.media !== "video";
    };
    call.pc.onconnectionstatechange = () => {
      const state = call.pc.connectionState;
      if (state === "connected") this.connected(call);
      if (state === "disconnected") $("call-quality").textContent = t("callQualityInterrupted");
      if (state === "failed") this.abort(t("callConnectionFailed"));
    };
  }

  async remoteDescribed() {
    const call = this.current;
    for (const candidate of call.candidates.splice(0)) await call.pc.addIceCandidate(candidate);
  }

  /** Media flows: check the certificate the peer really presented, then start the clock. */
  async connected(call) {
    if (call.startedAt || this.current !== call) return;
    const stats = await call.pc.getStats();
    let presented = null;
    stats.forEach((report) => {
      if (report.type === "transport" && report.remoteCertificateId) {
        const certificate = stats.get(report.remoteCertificateId);
        if (certificate) presented = `${certificate.fingerprintAlgorithm.toLowerCase()} ${certificate.fingerprint.toUpperCase()}`;
      }
    });
    if (presented !== call.peerFingerprint) { this.abort(t("callCertificateMismatch"), "fingerprint mismatch"); return; }
    call.startedAt = Date.now();
    this.show(t(call.media === "video" ? "callInVideo" : "callInAudio", { name: this.nameOf(call.peer) }), { controls: true });
    call.clock = setInterval(() => {
      $("call-duration").textContent = clock(Math.floor((Date.now() - call.startedAt) / 1000));
      this.measure(call);
    }, 1000);
  }

  /** Connection quality from the browser's own statistics (shown, never sent anywhere). */
  async measure(call) {
    const stats = await call.pc.getStats();
    let audio = 0, video = 0, lost = 0, received = 0, rtt = 0, localType = "", remoteType = "";
    stats.forEach((report) => {
      if (report.type === "inbound-rtp") {
        if (report.kind === "audio") audio += report.bytesReceived ?? 0; else video += report.bytesReceived ?? 0;
        lost += Math.max(0, report.packetsLost ?? 0);
        received += report.packetsReceived ?? 0;
      }
      if (report.type === "candidate-pair" && report.nominated && report.state === "succeeded") {
        rtt = report.currentRoundTripTime ?? 0;
        localType = stats.get(report.localCandidateId)?.candidateType ?? "";
        remoteType = stats.get(report.remoteCandidateId)?.candidateType ?? "";
      }
    });
    const loss = received ? lost / (lost + received) : 0;
    const quality = loss < 0.02 && rtt < 0.3 ? "good" : loss < 0.08 && rtt < 0.6 ? "fair" : "poor";
    const element = $("call-quality");
    element.textContent = t(localType === "relay" ? "callQualityRelayed" : "callQuality", { quality: t(qualities[quality]) });
    Object.assign(element.dataset, { inboundAudioBytes: audio, inboundVideoBytes: video, localCandidateType: localType, remoteCandidateType: remoteType });
  }

  matchesSignedFingerprint(sdp) {
    const prints = this.protocol.sdpFingerprints(sdp);
    if (prints.length > 0 && prints.every((print) => print === this.current.peerFingerprint)) return true;
    this.abort(t("callFingerprintMismatch"), "fingerprint mismatch");
    return false;
  }

  toggle(kind, button, on, off) {
    const tracks = this.current?.stream?.getTracks().filter((track) => track.kind === kind) ?? [];
    if (tracks.length === 0) return;
    const enabled = !tracks[0].enabled;
    tracks.forEach((track) => { track.enabled = enabled; });
    button.setAttribute("aria-pressed", String(!enabled));
    button.textContent = enabled ? on : off;
  }

  /** Stops the camera for good in this call; the other side is told. */
  async switchToAudioOnly() {
    const call = this.current;
    if (!call?.pc || call.media !== "video") return;
    for (const sender of call.pc.getSenders()) {
      if (sender.track?.kind === "video") { sender.track.stop(); await sender.replaceTrack(null); }
    }
    call.media = "audio";
    $("local-media").hidden = $("call-camera").hidden = $("call-audio-only").hidden = true;
    this.signal({ kind: "media", media: "audio" });
    this.note(t("callYouAudioOnly"));
  }

  hangUp() {
    if (!this.current) return;
    this.signal({ kind: "hangup", reason: "hung up" });
    this.end(t("callYouEnded"));
  }

  /** Ends the call on a failed check, telling the other side why. */
  abort(message, reason = "failed") {
    if (!this.current) return;
    this.signal({ kind: "hangup", reason });
    this.end(message);
  }

  end(message) {
    const call = this.current;
    if (!call) return;
    this.current = null;
    clearInterval(call.clock);
    call.pc?.close();
    call.stream?.getTracks().forEach((track) => track.stop());
    for (const element of [$("remote-media"), $("local-media")]) { element.srcObject = null; element.hidden = true; }
    const duration = call.startedAt ? ` ${t("callLasted", { duration: clock(Math.floor((Date.now() - call.startedAt) / 1000)) })}` : "";
    this.show(message + duration);
  }

  signal(fields) { this.sendTo(this.current.peer, { call: this.current.id, ...fields }); }

  sendTo(peer, signal) {
    this.send({ type: "callSignal", ...this.protocol.sealCallSignal(signal, this.me, unb64(peer)) });
  }

  show(message, { incoming = false, controls = false } = {}) {
    if (!incoming && this.title) { document.title = this.title; this.title = null; }
    $("call").hidden = false;
    $("call-status").textContent = message;
    $("call-incoming").hidden = !incoming;
    $("call-controls").hidden = !controls;
    // A word about a call that is over (or never began) can be put away.
    $("call-close").hidden = incoming || controls;
    if (!controls) {
      $("call-duration").textContent = "00:00";
      $("call-quality").textContent = "";
      for (const key of Object.keys($("call-quality").dataset)) delete $("call-quality").dataset[key];
      for (const button of [$("call-mute"), $("call-camera")]) button.setAttribute("aria-pressed", "false");
      $("call-mute").textContent = t("muteButton");
      $("call-camera").textContent = t("cameraOffButton");
    }
  }

  note(message) { $("call-status").textContent = `${$("call-status").textContent} ${message}`; }
}
