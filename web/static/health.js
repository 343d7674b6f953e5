// Stream health on the watch page: the streamer's video as LiveKit reports it (resolution, frame
// rate, bitrate; polled from /api/live/<slug>/health) and a clear notice when the streamer's
// connection is poor. "Poor" comes from the server's evidence (OBS input stalled or slow, no
// video) or from LiveKit's connection-quality verdict on the streamer, forwarded by watch.js.
"use strict";

(() => {
  const data = window.golive.pageData();
  if (!data || !data.active || !data.healthUrl) return;

  const el = {
    box: document.getElementById("stream-health"),
    numbers: document.getElementById("stream-health-numbers"),
    notice: document.getElementById("stream-health-notice"),
  };
  if (!el.box || !el.numbers || !el.notice) return;

  const POLL_MS = 20000;
  const state = { serverPoor: false, reasons: [], sfuQuality: "", summary: "" };

  async function poll() {
    try {
      const response = await fetch(data.healthUrl, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (response.ok) {
        const health = await response.json();
        state.summary = typeof health.summary === "string" ? health.summary : "";
        state.serverPoor = health.poor === true;
        state.reasons = Array.isArray(health.reasons) ? health.reasons.map(String) : [];
        render();
      }
    } catch {
      // The player already says when the stream can't be reached; health just waits.
    } finally {
      window.setTimeout(poll, POLL_MS);
    }
  }

  function render() {
    const sfuPoor = state.sfuQuality === "poor" || state.sfuQuality === "lost";
    const poor = state.serverPoor || sfuPoor;
    el.numbers.textContent = state.summary;
    el.numbers.hidden = !state.summary;
    el.notice.hidden = !poor;
    if (poor) {
      let why = "";
      if (state.reasons.length) why = `: ${state.reasons.join("; ")}`;
      else if (sfuPoor) why = ` (LiveKit rates it ${state.sfuQuality})`;
      el.notice.textContent = `The streamer's connection is poor${why}. The video may stutter or freeze.`;
    }
    el.box.hidden = !state.summary && !poor;
  }

  document.addEventListener("golive:broadcaster-quality", (event) => {
    state.sfuQuality = event.detail && typeof event.detail.quality === "string" ? event.detail.quality : "";
    render();
  });

  poll();
})();
