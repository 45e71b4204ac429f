// Images and PDFs, end to end encrypted: encrypted here with secretstream under a fresh key before
// upload, fetched as ciphertext and decrypted here; the key travels inside the encrypted message.
import { b64, unb64 } from "./haven-protocol.js";
import { t } from "./strings.js";

const allowedTypes = ["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"];
const chunkSize = 65536;
const largest = 10 * 1024 * 1024;
// Refusals the member can act on, in their words; anything else is "could not be uploaded". A
// token refused (401) is a browser resending an upload cut by a dropped connection.
const uploadProblems = {
  too_many_uploads: "attachmentTooMany", attachment_quota: "attachmentQuotaFull", attachments_full: "attachmentsFull",
  uploads_busy: "attachmentsBusy",
  unauthorized: "attachmentConnectionLost",
};

export class Attachments {
  /** `origin` is the Haven server's ("" for this page's), `send(frame)` asks the server for a token. */
  constructor({ sodium, document, window, origin, send }) {
    // `token`: the one downloads share until it nears its end; `fetching`: its request, while on
    // its way (so many attachments on screen ask once); `waiters`: requests in the order sent.
    Object.assign(this, { sodium, document, window, origin, send, token: null, fetching: null, waiters: [] });
  }

  /** The server's `uploadToken` frame: the answer to the oldest request. */
  tokenArrived(frame) { this.waiters.shift()?.(frame); }

  requestToken() {
    const answer = new Promise((resolve) => this.waiters.push(resolve));
    this.send({ type: "requestUploadToken" });
    return answer;
  }

  // For downloads: the shared token, asked for once however many attachments want it.
  async authorization() {
    if (!this.token || this.token.expires <= Date.now()) {
      this.fetching ??= this.requestToken().then((frame) => {
        this.token = { value: frame.token, expires: Date.now() + (frame.expiresIn - 30) * 1000 };
        this.fetching = null;
      });
      await this.fetching;
    }
    return { Authorization: `Bearer ${this.token.value}` };
  }

  /** Encrypts and uploads `file`; returns the descriptor for the message, or a reason it was not sent. */
  async upload(file) {
    if (!allowedTypes.includes(file.type) || file.size > largest) return { problem: t("attachmentNotAllowed") };
    const fileKey = this.sodium.randomBytes(32);
    const { header, ciphertext } = this.sodium.streamEncrypt(new Uint8Array(await file.arrayBuffer()), fileKey, chunkSize);
    // A token uploads once: each upload has its own, and downloads keep theirs.
    const { token } = await this.requestToken();
    let response;
    try {
      response = await fetch(`${this.origin}/v1/blobs`, { method: "POST", body: ciphertext, headers: { Authorization: `Bearer ${token}` } });
    } catch {
      return { problem: t("attachmentConnectionLost") };
    }
    if (!response.ok) {
      const code = await response.json().then((body) => body.error).catch(() => null);
      return { problem: t(uploadProblems[code] ?? "attachmentUploadFailed") };
    }
    const { blob } = await response.json();
    return { attachment: { blob, key: b64(fileKey), header: b64(header), size: file.size, chunkSize, mediaType: file.type, name: file.name.slice(0, 200) } };
  }

  /** A box that fetches, decrypts and shows an attachment: images inline, PDFs on request. */
  view(descriptor) {
    const box = this.document.createElement("div");
    box.className = "attachment";
    const { name } = descriptor;
    box.textContent = t("attachmentLoading", { name });
    const load = async () => {
      box.textContent = t("attachmentLoading", { name });
      let response;
      try {
        response = await fetch(`${this.origin}/v1/blobs/${descriptor.blob}`, { headers: await this.authorization() });
      } catch {
        const retry = Object.assign(this.document.createElement("button"), { textContent: t("attachmentRetryButton") });
        retry.addEventListener("click", () => { load(); });
        box.replaceChildren(t("attachmentNotLoaded", { name }), " ", retry);
        return;
      }
      if (!response.ok) { box.textContent = t("attachmentGone", { name }); return; }
      const bytes = this.sodium.streamDecrypt(new Uint8Array(await response.arrayBuffer()), unb64(descriptor.header), unb64(descriptor.key), descriptor.chunkSize);
      if (bytes.length !== descriptor.size || !allowedTypes.includes(descriptor.mediaType)) { box.textContent = t("attachmentRefused"); return; }
      const url = URL.createObjectURL(new Blob([bytes], { type: descriptor.mediaType }));
      if (descriptor.mediaType.startsWith("image/")) {
        box.replaceChildren(Object.assign(this.document.createElement("img"), { src: url, alt: descriptor.name }));
      } else {
        const open = Object.assign(this.document.createElement("button"), { textContent: t("openAttachmentButton", { name }) });
        open.addEventListener("click", () => this.window.open(url, "_blank", "noopener"));
        box.replaceChildren(open);
      }
    };
    load().catch(() => { box.textContent = t("attachmentUndecryptable", { name }); });
    return box;
  }
}
