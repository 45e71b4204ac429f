// The widget's trust anchors: the organisation key that staff chains end in, the name the chat
// server must sign in with, and where the server is. They never come from the chat server. A
// widget the provider hosts (`haven widget export`) carries them in its page; the widget served by
// `haven serve` takes them from the embedding snippet's URL fragment (`#org=…&server=…`), which
// the browser never sends to any server.

/** The pins a provider-hosted page carries, or null on a page `haven serve` serves. */
function hostedPins(document) {
  const block = document.getElementById("haven-pins");
  return block ? JSON.parse(block.textContent) : null;
}

/** Where the chat server is for HTTP ("" for this page's own origin). */
export function serverOrigin(document) {
  return hostedPins(document)?.origin ?? "";
}

/** Reads the anchors, and takes a one-time invite secret out of the address bar at once. */
export function readAnchors(document, location, history) {
  const hosted = hostedPins(document);
  const fragment = new URLSearchParams(location.hash.slice(1));
  const invite = fragment.get("invite");
  if (invite !== null) {
    // Whatever happens next, the secret must not stay in the address bar or the history entry.
    fragment.delete("invite");
    const rest = fragment.toString();
    history.replaceState(null, "", `${location.pathname}${location.search}${rest ? `#${rest}` : ""}`);
  }
  const sameOrigin = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/ws`;
  return {
    hosted: hosted !== null,
    organisationKey: hosted ? hosted.organisationKey ?? null : fragment.get("org"),
    serverName: hosted ? hosted.serverName ?? null : fragment.get("server"),
    webSocket: hosted?.webSocket ?? sameOrigin,
    origin: serverOrigin(document),
    sodium: hosted?.sodium ?? null,
    invite,
  };
}

/** A short, readable fingerprint of a key: BLAKE2b-160 in ten groups of four hex digits. */
export function fingerprint(sodium, key) {
  const hex = [...sodium.blake2b(key, new Uint8Array(), 20)].map((byte) => byte.toString(16).padStart(2, "0")).join("").toUpperCase();
  return hex.match(/.{4}/g).join(" ");
}
