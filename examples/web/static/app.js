// The page's side of vagent's WebSocket protocol (docs/websocket-transport.md): the
// microphone goes out as 16-bit PCM from an AudioWorklet, the agent's audio comes back and
// plays in another, with playback reports so interruptions commit what was heard.

const $ = (id) => document.getElementById(id);
const MAX_RATE = 48000; // the protocol accepts 8000-48000 Hz

let socket = null;
let context = null;
let microphone = null;
let player = null;
let agentLine = null; // the <li> the agent's current reply is written into
let outputRate = 0;
let audioSamples = 0;

// Read by the browser test (and handy in the console).
window.vagentPage = { audioSeconds: 0, lines: [], errors: [], states: [] };

function setStatus(text, state) {
  $("status").textContent = text;
  $("status").dataset.state = state;
}

function addLine(who, text) {
  const li = document.createElement("li");
  li.className = who;
  li.textContent = text;
  $("transcript").append(li);
  li.scrollIntoView({ block: "end" });
  return li;
}

function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

async function start() {
  $("start").disabled = true;
  setStatus("starting...", "idle");
  try {
    context = new AudioContext();
    if (context.sampleRate > MAX_RATE) {
      await context.close();
      context = new AudioContext({ sampleRate: MAX_RATE });
    }
    await context.audioWorklet.addModule("/static/audio-worklets.js");
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true },
    });
    microphone = { stream, source: context.createMediaStreamSource(stream) };
    microphone.node = new AudioWorkletNode(context, "mic-processor");
    microphone.source.connect(microphone.node);
    // Keep the worklet pulled by the graph without making it audible.
    const mute = context.createGain();
    mute.gain.value = 0;
    microphone.node.connect(mute).connect(context.destination);

    player = new AudioWorkletNode(context, "player-processor", { outputChannelCount: [1] });
    player.connect(context.destination);
    player.port.onmessage = (event) => send({ type: "playback", ...event.data });
    await context.resume();
  } catch (error) {
    setStatus(`no audio: ${error.message}`, "error");
    window.vagentPage.errors.push(String(error));
    stop();
    return;
  }
  connect();
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/agent`);
  socket.binaryType = "arraybuffer";
  socket.onmessage = (event) => {
    if (event.data instanceof ArrayBuffer) onAudio(event.data);
    else onEvent(JSON.parse(event.data));
  };
  socket.onclose = (event) => {
    const why = event.reason ? `: ${event.reason}` : "";
    setStatus(`disconnected (${event.code}${why})`, event.code === 1000 ? "idle" : "error");
    stop();
  };
}

function onAudio(data) {
  audioSamples += data.byteLength / 2;
  window.vagentPage.audioSeconds = audioSamples / (outputRate || context.sampleRate);
  $("audio-received").textContent = window.vagentPage.audioSeconds.toFixed(1);
  player.port.postMessage({ type: "pcm", data }, [data]);
}

function onEvent(message) {
  switch (message.type) {
    case "ready": {
      const rate = context.sampleRate;
      send({ type: "config", input_sample_rate: rate, output_sample_rate: rate, playback_reports: true });
      microphone.node.port.onmessage = (event) => {
        if (socket.readyState === WebSocket.OPEN) socket.send(event.data);
      };
      setStatus("connected: speak", "live");
      $("text").disabled = $("send").disabled = false;
      $("stop").disabled = false;
      break;
    }
    case "agent_state":
      $("agent-state").textContent = message.state;
      window.vagentPage.states.push(message.state);
      break;
    case "user_state":
      $("user-state").textContent = message.state;
      break;
    case "user_transcript":
      if (message.final) {
        $("interim").textContent = "";
        if (message.text) addLine("user", message.text);
        window.vagentPage.lines.push({ who: "user", text: message.text });
      } else {
        $("interim").textContent = message.text;
      }
      break;
    case "agent_transcript":
      if (!agentLine && message.delta) agentLine = addLine("agent", "");
      if (agentLine) agentLine.textContent += message.delta;
      if (message.final && agentLine) {
        window.vagentPage.lines.push({ who: "agent", text: agentLine.textContent });
        agentLine = null;
      }
      break;
    case "audio_start":
      outputRate = message.sample_rate;
      player.port.postMessage({ type: "start", segment: message.segment });
      break;
    case "audio_end":
      player.port.postMessage({ type: "end", segment: message.segment });
      break;
    case "audio_clear":
      player.port.postMessage({ type: "clear", segment: message.segment });
      if (agentLine) agentLine.classList.add("interrupted");
      break;
    case "audio_pause":
      player.port.postMessage({ type: "pause" });
      break;
    case "audio_resume":
      player.port.postMessage({ type: "resume" });
      break;
    case "error":
      window.vagentPage.errors.push(message.message);
      setStatus(`error: ${message.message}`, "error");
      break;
  }
}

function stop() {
  if (socket && socket.readyState <= WebSocket.OPEN) socket.close(1000, "user left");
  socket = null;
  if (microphone) microphone.stream.getTracks().forEach((track) => track.stop());
  microphone = null;
  if (context) context.close();
  context = null;
  player = null;
  agentLine = null;
  $("start").disabled = false;
  $("stop").disabled = true;
  $("text").disabled = $("send").disabled = true;
}

$("start").onclick = start;
$("stop").onclick = () => stop();
$("text-form").onsubmit = (event) => {
  event.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  send({ type: "text", text });
  addLine("user", text);
  window.vagentPage.lines.push({ who: "user", text });
  $("text").value = "";
};
