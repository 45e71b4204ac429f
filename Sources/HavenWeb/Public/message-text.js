// A message's words on screen: plain text (never HTML), with web addresses made into links that
// say first that they leave the chat, and open with neither an opener nor a referrer.
import { locale, t } from "./strings.js";

const address = /https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)]/g;
const youTube = /^https:\/\/(?:www\.)?(?:youtube\.com\/watch\?v=|youtu\.be\/)([A-Za-z0-9_-]{11})(?:[&?#].*)?$/;

/** The text as nodes for `element`, links included. */
export function linkedText(document, text) {
  const nodes = [];
  let last = 0;
  for (const match of text.matchAll(address)) {
    if (match.index > last) nodes.push(document.createTextNode(text.slice(last, match.index)));
    nodes.push(outsideLink(document, match[0]));
    last = match.index + match[0].length;
  }
  if (last < text.length) nodes.push(document.createTextNode(text.slice(last)));
  return nodes;
}

/** The YouTube video ids of the links in `text`. */
export function youTubeVideos(text) {
  return [...text.matchAll(address)].map((match) => match[0].match(youTube)?.[1]).filter(Boolean);
}

function outsideLink(document, url) {
  const link = Object.assign(document.createElement("a"), { href: url, textContent: url, rel: "noopener noreferrer", target: "_blank" });
  link.addEventListener("click", (event) => {
    if (link.dataset.confirmed) return;
    event.preventDefault();
    if (link.nextSibling?.classList?.contains("leaving-notice")) return;
    const notice = document.createElement("span");
    notice.className = "leaving-notice";
    const open = Object.assign(document.createElement("button"), { textContent: t("openLinkButton") });
    open.addEventListener("click", () => { notice.remove(); link.dataset.confirmed = "yes"; link.click(); });
    const stay = Object.assign(document.createElement("button"), { textContent: t("stayHereButton") });
    stay.addEventListener("click", () => notice.remove());
    notice.append(t("leavingChatNotice", { host: new URL(url).host }), " ", open, " ", stay);
    link.after(notice);
  });
  return link;
}

/** A YouTube link's card: nothing is fetched from YouTube until the member asks, and then only
 *  from youtube-nocookie.com. */
export function youTubeCard(document, videoID) {
  const card = document.createElement("div");
  card.className = "video-card";
  const note = document.createElement("p");
  note.textContent = t("youTubeNotice");
  const button = document.createElement("button");
  button.textContent = t("loadVideoButton");
  button.addEventListener("click", () => {
    const frame = document.createElement("iframe");
    frame.src = `https://www.youtube-nocookie.com/embed/${videoID}`;
    frame.title = t("youTubeFrameTitle");
    frame.allow = "encrypted-media; picture-in-picture";
    frame.referrerPolicy = "no-referrer";
    card.replaceChildren(frame);
  });
  card.append(note, button);
  return card;
}

/** A message's time: the hour, and the day too when it is not today, in the member's local style. */
export function timeLabel(document, at) {
  const when = new Date(at);
  const hour = when.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
  const today = new Date().toDateString() === when.toDateString();
  return Object.assign(document.createElement("time"), {
    dateTime: when.toISOString(), textContent: today ? hour : `${when.toLocaleDateString(locale, { day: "numeric", month: "short" })} ${hour}`,
  });
}
