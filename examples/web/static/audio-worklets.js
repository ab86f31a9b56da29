// Two AudioWorklet processors: the microphone to 16-bit PCM, and a player of the agent's
// 16-bit PCM that reports how much it played. Both run at the AudioContext's rate.

const MIC_FRAME_SECONDS = 0.04; // one binary message per 40 ms

class MicProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.frame = new Int16Array(Math.round(sampleRate * MIC_FRAME_SECONDS));
    this.filled = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      const s = Math.max(-1, Math.min(1, channel[i]));
      this.frame[this.filled++] = s < 0 ? s * 0x8000 : s * 0x7fff;
      if (this.filled === this.frame.length) {
        const out = this.frame.slice();
        this.port.postMessage(out.buffer, [out.buffer]);
        this.filled = 0;
      }
    }
    return true;
  }
}

const REPORT_EVERY = 0.2; // seconds of playout between position reports

class PlayerProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.chunks = []; // Float32Arrays waiting to play
    this.offset = 0; // read position in chunks[0]
    this.segment = null;
    this.played = 0; // samples of the current segment played
    this.ended = false; // audio_end received for the current segment
    this.paused = false;
    this.sinceReport = 0;
    this.port.onmessage = (event) => this.onCommand(event.data);
  }

  onCommand(command) {
    switch (command.type) {
      case "start":
        this.chunks = [];
        this.offset = 0;
        this.segment = command.segment;
        this.played = 0;
        this.ended = false;
        this.paused = false;
        break;
      case "pcm": {
        const pcm = new Int16Array(command.data);
        const samples = new Float32Array(pcm.length);
        for (let i = 0; i < pcm.length; i++) samples[i] = pcm[i] / 0x8000;
        this.chunks.push(samples);
        break;
      }
      case "end":
        if (command.segment === this.segment) this.ended = true;
        break;
      case "clear":
        if (command.segment === this.segment) {
          this.chunks = [];
          this.offset = 0;
          this.report(false);
          this.segment = null;
        }
        break;
      case "pause":
        this.paused = true;
        break;
      case "resume":
        this.paused = false;
        break;
    }
  }

  report(finished) {
    if (this.segment === null) return;
    this.port.postMessage({ segment: this.segment, position: this.played / sampleRate, finished });
    this.sinceReport = 0;
  }

  process(_inputs, outputs) {
    const out = outputs[0][0];
    if (this.paused || this.segment === null) {
      out.fill(0);
      return true;
    }
    let written = 0;
    while (written < out.length && this.chunks.length) {
      const chunk = this.chunks[0];
      const n = Math.min(out.length - written, chunk.length - this.offset);
      out.set(chunk.subarray(this.offset, this.offset + n), written);
      written += n;
      this.offset += n;
      if (this.offset === chunk.length) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
    out.fill(0, written);
    this.played += written;
    this.sinceReport += written;
    if (this.ended && !this.chunks.length) {
      this.report(true);
      this.segment = null;
    } else if (this.sinceReport >= REPORT_EVERY * sampleRate) {
      this.report(false);
    }
    return true;
  }
}

registerProcessor("mic-processor", MicProcessor);
registerProcessor("player-processor", PlayerProcessor);
