// Getting staff's attention when someone needs them: a short chime, and a count in the tab's
// title ("(2) Haven") while anything waits, so a counsellor in another tab sees it.
export class Attention {
  /** `baseTitle` is the page's own title. */
  constructor({ document, window, baseTitle }) {
    Object.assign(this, { document, window, baseTitle, counts: new Map(), audio: null });
  }

  /** How many things `source` has waiting (the line, worrying reports, new reports). */
  set(source, count) {
    this.counts.set(source, count);
    const total = [...this.counts.values()].reduce((sum, value) => sum + value, 0);
    this.document.title = total > 0 ? `(${total}) ${this.baseTitle}` : this.baseTitle;
  }

  /** A short, soft two-note chime (the page made no sound before staff pressed Start, which
   *  lets the browser play it). */
  chime() {
    try {
      this.audio ??= new this.window.AudioContext();
      const start = this.audio.currentTime;
      for (const [offset, pitch] of [[0, 660], [0.18, 880]]) {
        const tone = this.audio.createOscillator();
        const volume = this.audio.createGain();
        tone.frequency.value = pitch;
        volume.gain.setValueAtTime(0.12, start + offset);
        volume.gain.exponentialRampToValueAtTime(0.001, start + offset + 0.3);
        tone.connect(volume).connect(this.audio.destination);
        tone.start(start + offset);
        tone.stop(start + offset + 0.3);
      }
    } catch {
      // No sound here (no audio device, or the browser refuses): the title and the list still say it.
    }
  }
}
