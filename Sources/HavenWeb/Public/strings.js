// Every word the widget shows, in one catalog: English, and Spanish (warm, informal "tú": people
// may write here in distress, in the middle of the night). The page speaks the first of the
// browser's languages that the catalog has, English otherwise. A key missing in Spanish falls back
// to English; a key missing in both shows the key itself, so a slip never blanks the page.
// Placeholders are written {name} and filled from `t`'s params. A text that depends on a number is
// an object of plural forms ({ one, other }), chosen by the `count` param with the language's
// plural rules (Intl.PluralRules); "other" stands in for any form a language leaves out.

export const catalog = {
  en: {
    // people.js: names and role badges
    someone: "Someone",
    roleCounsellor: "counsellor",
    roleModerator: "moderator",
    badgeVerifiedRole: "{role} ✓",
    badgeMember: "member",
    badgeNotVerified: "not verified",
    badgeVerifiedRoleTitle: "verified {role}: certified by the organisation's key",
    badgeMemberTitle: "a member of this service, not staff",
    badgeNotVerifiedTitle: "this page cannot tell yet whether they are staff",

    // device-panel.js: what this device keeps
    rememberedNote: "This device remembers you: your name and your place in rooms come back when you return (press Start). Untick to stop.",
    notRememberedNote: "Nothing is kept on this device: if you close or reload this page, this conversation and your private messages are gone, and people cannot reach you under this name. Tick “Remember me” only on your own phone or computer.",
    forgottenStatus: "Done: nothing from your last visit is kept on this device.",

    // safety.js: crisis contacts
    crisisContactName: "{name}:",

    // attachments.js
    attachmentNotAllowed: "only images and PDFs up to 10 MB",
    attachmentUploadFailed: "the attachment could not be uploaded",
    attachmentLoading: "{name} (loading…)",
    attachmentGone: "{name}: no longer available",
    attachmentRefused: "attachment refused",
    attachmentUndecryptable: "{name}: could not be decrypted",
    openAttachmentButton: "Open {name}",

    // calls.js: the call panel
    muteButton: "Mute",
    unmuteButton: "Unmute",
    cameraOffButton: "Camera off",
    cameraOnButton: "Camera on",
    acceptAudioOnlyButton: "Accept audio only",
    acceptAsAudioButton: "Accept (audio only)",
    incomingCallTitle: "Incoming call · {title}",
    callAlreadyInCall: "You are already in a call.",
    callCallingVideo: "Calling {name} (video)…",
    callCallingAudio: "Calling {name} (audio)…",
    callIncomingVideo: "{name} is calling you (video call).",
    callIncomingAudio: "{name} is calling you (audio call).",
    callConnecting: "Connecting to {name}…",
    callInVideo: "In a video call with {name}.",
    callInAudio: "In an audio call with {name}.",
    callPeerAudioOnly: "{name} switched to audio only.",
    callYouAudioOnly: "You switched to audio only; your camera is off.",
    callPeerDeclined: "{name} declined the call.",
    callYouDeclined: "You declined the call.",
    callPeerBusy: "{name} is in another call.",
    callPeerEnded: "{name} ended the call.",
    callYouEnded: "You ended the call.",
    callEnded: "The call ended.",
    callEndedOffline: "The call ended: you are no longer connected.",
    callEndedNoAnswer: "No answer.",
    callEndedPeerDisconnected: "The other side lost its connection.",
    callEndedSanctioned: "The call was ended by a moderator's action.",
    callEndedAnsweredElsewhere: "The call was taken on another of your devices.",
    callEndedTooManySignals: "The call was ended: too many signalling messages.",
    callFailed: "The call failed: {reason}",
    callRefused: "The call could not go ahead: {reason}.",
    callErrorNoFingerprint: "the browser gave no sha-256 certificate fingerprint",
    callErrorEnded: "the call ended",
    callConnectionFailed: "The connection failed.",
    callPeerCheckFailed: "The call was stopped: the security check failed on the other side.",
    callCertificateMismatch: "The call was stopped: the other side's certificate did not match what they signed.",
    callFingerprintMismatch: "The call was stopped: the other side's security fingerprint did not match what they signed.",
    callLasted: "It lasted {duration}.",
    callQuality: "Connection: {quality}",
    callQualityRelayed: "Connection: {quality} (relayed)",
    callQualityInterrupted: "Connection: interrupted, trying to recover…",
    qualityGood: "good",
    qualityFair: "fair",
    qualityPoor: "poor",

    // outbox.js: a message's state beside it
    sending: "sending…",
    sendingNewRoomKey: "sending… (the room is changing its key)",
    waitingForConnection: "waiting for the connection… (it will be sent)",
    sent: "sent",
    notSentRateLimited: "Not sent yet: you are sending quickly. Trying again…",
    notSentStoreFailed: "Not sent yet: the service could not save it. Trying again…",
    notSentSuspended: "Not sent: a moderator has paused your posting for now.",
    notSentNotAMember: "Not sent: you are no longer in this room.",
    notSentBanned: "Not sent: you can no longer post here.",
    notSentRefused: "Not sent: the service refused it.",

    // threads.js: private conversations
    replyButton: "Reply",
    replyPrivatelyLabel: "Reply to {name} privately",
    yourMessage: "You: {text}",

    // message-text.js: links and videos in messages
    leavingChatNotice: "This opens {host}, a page outside the chat.",
    openLinkButton: "Open it",
    stayHereButton: "Stay here",
    youTubeNotice: "YouTube video. Loading it contacts YouTube (privacy-enhanced mode).",
    loadVideoButton: "Load video",
    youTubeFrameTitle: "YouTube video",

    // names.js: why a display name is refused
    nameNeedsLetter: "Please choose a name with at least one letter or emoji in it.",
    nameTooLong: "Please choose a shorter name.",
    nameInvisibleCharacters: "Please choose another name: it contains invisible characters that could make it look like someone else's.",
    nameCheckMark: "Please choose another name: check marks are kept for the verified badge.",
    nameRoleWord: "Please choose another name: \"{word}\" is a word for a role here, and the green badge is what shows who is staff.",
  },

  es: {
    someone: "Alguien",
    roleCounsellor: "consejero/a",
    roleModerator: "moderador/a",
    badgeVerifiedRole: "{role} ✓",
    badgeMember: "participante",
    badgeNotVerified: "sin verificar",
    badgeVerifiedRoleTitle: "rol verificado ({role}): lo certifica la clave de la organización",
    badgeMemberTitle: "participa en este servicio, pero no forma parte del equipo",
    badgeNotVerifiedTitle: "esta página todavía no puede saber si forma parte del equipo",

    rememberedNote: "Este dispositivo te recuerda: cuando vuelvas, recuperarás tu nombre y tu lugar en las salas (pulsa «Empezar»). Desmarca la casilla para que deje de hacerlo.",
    notRememberedNote: "No se guarda nada en este dispositivo: si cierras o recargas esta página, esta conversación y tus mensajes privados desaparecen, y nadie podrá escribirte con este nombre. Marca «Recordarme» solo en tu propio teléfono o computadora.",
    forgottenStatus: "Listo: ya no queda nada de tu última visita en este dispositivo.",

    crisisContactName: "{name}:",

    attachmentNotAllowed: "solo se pueden compartir imágenes y PDF de hasta 10 MB",
    attachmentUploadFailed: "no se pudo subir el archivo",
    attachmentLoading: "{name} (cargando…)",
    attachmentGone: "{name}: ya no está disponible",
    attachmentRefused: "archivo rechazado",
    attachmentUndecryptable: "{name}: no se pudo descifrar",
    openAttachmentButton: "Abrir {name}",

    muteButton: "Silenciar",
    unmuteButton: "Activar micrófono",
    cameraOffButton: "Apagar cámara",
    cameraOnButton: "Encender cámara",
    acceptAudioOnlyButton: "Aceptar solo con audio",
    acceptAsAudioButton: "Aceptar (solo audio)",
    incomingCallTitle: "Llamada entrante · {title}",
    callAlreadyInCall: "Ya estás en una llamada.",
    callCallingVideo: "Llamando a {name} (video)…",
    callCallingAudio: "Llamando a {name} (audio)…",
    callIncomingVideo: "{name} te está llamando (videollamada).",
    callIncomingAudio: "{name} te está llamando (llamada de voz).",
    callConnecting: "Conectando con {name}…",
    callInVideo: "En videollamada con {name}.",
    callInAudio: "En llamada de voz con {name}.",
    callPeerAudioOnly: "{name} pasó a solo audio.",
    callYouAudioOnly: "Pasaste a solo audio; tu cámara está apagada.",
    callPeerDeclined: "{name} no aceptó la llamada.",
    callYouDeclined: "Rechazaste la llamada.",
    callPeerBusy: "{name} está en otra llamada.",
    callPeerEnded: "{name} terminó la llamada.",
    callYouEnded: "Terminaste la llamada.",
    callEnded: "La llamada terminó.",
    callEndedOffline: "La llamada terminó: ya no tienes conexión.",
    callEndedNoAnswer: "No hubo respuesta.",
    callEndedPeerDisconnected: "La otra persona perdió la conexión.",
    callEndedSanctioned: "La llamada terminó por una decisión de moderación.",
    callEndedAnsweredElsewhere: "Contestaste la llamada en otro de tus dispositivos.",
    callEndedTooManySignals: "La llamada terminó: hubo demasiados mensajes de señalización.",
    callFailed: "La llamada falló: {reason}",
    callRefused: "La llamada no pudo continuar: {reason}.",
    callErrorNoFingerprint: "el navegador no dio la huella sha-256 del certificado",
    callErrorEnded: "la llamada terminó",
    callConnectionFailed: "La conexión falló.",
    callPeerCheckFailed: "La llamada se detuvo: la comprobación de seguridad falló del otro lado.",
    callCertificateMismatch: "La llamada se detuvo: el certificado de la otra persona no coincide con lo que firmó.",
    callFingerprintMismatch: "La llamada se detuvo: la huella de seguridad de la otra persona no coincide con lo que firmó.",
    callLasted: "Duró {duration}.",
    callQuality: "Conexión: {quality}",
    callQualityRelayed: "Conexión: {quality} (retransmitida)",
    callQualityInterrupted: "Conexión: interrumpida, intentando recuperarla…",
    qualityGood: "buena",
    qualityFair: "regular",
    qualityPoor: "mala",

    sending: "enviando…",
    sendingNewRoomKey: "enviando… (la sala está cambiando su clave)",
    waitingForConnection: "esperando la conexión… (se enviará)",
    sent: "enviado",
    notSentRateLimited: "Todavía no se envió: estás enviando muy rápido. Lo intentamos de nuevo…",
    notSentStoreFailed: "Todavía no se envió: el servicio no pudo guardarlo. Lo intentamos de nuevo…",
    notSentSuspended: "No se envió: el equipo de moderación pausó tus mensajes por ahora.",
    notSentNotAMember: "No se envió: ya no estás en esta sala.",
    notSentBanned: "No se envió: ya no puedes escribir aquí.",
    notSentRefused: "No se envió: el servicio lo rechazó.",

    replyButton: "Responder",
    replyPrivatelyLabel: "Responder a {name} en privado",
    yourMessage: "Tú: {text}",

    leavingChatNotice: "Esto abre {host}, una página fuera del chat.",
    openLinkButton: "Abrirla",
    stayHereButton: "Quedarme aquí",
    youTubeNotice: "Video de YouTube. Si lo cargas, tu navegador se conecta con YouTube (modo de privacidad mejorada).",
    loadVideoButton: "Cargar video",
    youTubeFrameTitle: "Video de YouTube",

    nameNeedsLetter: "Elige un nombre que tenga al menos una letra o un emoji, por favor.",
    nameTooLong: "Elige un nombre más corto, por favor.",
    nameInvisibleCharacters: "Elige otro nombre, por favor: tiene caracteres invisibles que podrían hacer que parezca el de otra persona.",
    nameCheckMark: "Elige otro nombre, por favor: las marcas de verificación están reservadas para la insignia de verificación.",
    nameRoleWord: "Elige otro nombre, por favor: «{word}» es una palabra que aquí indica un rol, y lo que muestra quién es del equipo es la insignia verde.",
  },
};

const primarySubtag = (tag) => tag.toLowerCase().split("-")[0];

/** The catalog language for `languages` (BCP 47 tags, best first, as `navigator.languages`): the
 *  first whose primary subtag the catalog has ("es-MX" → "es"), else "en". */
export function chooseLanguage(languages) {
  return languages.map(primarySubtag).find((code) => Object.hasOwn(catalog, code)) ?? "en";
}

// Node (the tests) has no navigator.
const browserLanguages = globalThis.navigator?.languages ?? [];

/** The language the widget speaks; also the page's `<html lang>`. */
export const language = chooseLanguage(browserLanguages);

/** The browser's own tag for that language ("es-MX", "en-GB"), so dates and times keep the
 *  member's local style (a 24-hour clock in Britain, say). */
export const locale = browserLanguages.find((tag) => primarySubtag(tag) === language) ?? language;

/** A `t` for `language` over `tables` (language → key → text or plural forms), falling back to
 *  `tables.en`, then to the key itself. Placeholders are filled in one pass, so a filled-in value
 *  (a member's name, say) is never read as a placeholder itself. */
export function translator(tables, language) {
  const plurals = new Intl.PluralRules(language);
  return (key, params = {}) => {
    const entry = tables[language]?.[key] ?? tables.en?.[key] ?? key;
    const text = typeof entry === "string" ? entry : entry[plurals.select(params.count)] ?? entry.other;
    return text.replace(/\{(\w+)\}/g, (placeholder, name) => (Object.hasOwn(params, name) ? String(params[name]) : placeholder));
  };
}

/** The text for `key` in the chosen language, its `{name}` placeholders filled from `params`
 *  (and its plural form chosen by `params.count`). */
export const t = translator(catalog, language);
