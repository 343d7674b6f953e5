// Stream health on the watch page: the streamer's video as LiveKit reports it (resolution, frame
// rate, bitrate; polled from /api/live/<slug>/health) and a clear notice when the streamer's
// connection is poor. "Poor" comes from the server's evidence (OBS input stalled or slow, no
// video) or from LiveKit's connection-quality verdict on the streamer, forwarded by watch.js.
import { byId, onAnnouncement, pageData } from "./app.js";
import { getJson, poll } from "./net.js";
import { gettext } from "./text.js";

const POLL_MS = 20000;

const data = pageData();
if (data && data.active && data.healthUrl && document.getElementById("stream-health")) {
  startHealth(data.healthUrl);
}

/** @param {string} healthUrl */
function startHealth(healthUrl) {
  const el = {
    box: byId("stream-health"),
    numbers: byId("stream-health-numbers"),
    notice: byId("stream-health-notice"),
  };
  const state = { serverPoor: false, reasons: /** @type {string[]} */ ([]), sfuQuality: "", summary: "" };

  // The player already says when the stream can't be reached; health just waits.
  async function ask() {
    const reply = await getJson(healthUrl);
    if (reply.ok && reply.body) {
      const health = reply.body;
      state.summary = typeof health.summary === "string" ? health.summary : "";
      state.serverPoor = health.poor === true;
      state.reasons = Array.isArray(health.reasons) ? health.reasons.map(String) : [];
      render();
    }
    return reply;
  }

  function render() {
    const sfuPoor = state.sfuQuality === "poor" || state.sfuQuality === "lost";
    const poor = state.serverPoor || sfuPoor;
    el.numbers.textContent = state.summary;
    el.numbers.hidden = !state.summary;
    el.notice.hidden = !poor;
    if (poor) {
      el.notice.textContent = poorNotice(state.reasons, sfuPoor ? state.sfuQuality : "");
    }
    el.box.hidden = !state.summary && !poor;
  }

  /**
   * @param {string[]} reasons the server's evidence, already in the page's language
   * @param {string} sfuQuality LiveKit's verdict when it is the only evidence
   */
  function poorNotice(reasons, sfuQuality) {
    if (reasons.length) {
      return gettext("The streamer's connection is poor: %(reasons)s. The video may stutter or freeze.", {
        reasons: reasons.join("; "),
      });
    }
    if (sfuQuality === "lost") {
      return gettext("LiveKit has lost the streamer's connection. The video may stutter or freeze.");
    }
    if (sfuQuality) {
      return gettext("LiveKit rates the streamer's connection poor. The video may stutter or freeze.");
    }
    return gettext("The streamer's connection is poor. The video may stutter or freeze.");
  }

  onAnnouncement("broadcaster-quality", (detail) => {
    state.sfuQuality = typeof detail?.quality === "string" ? detail.quality : "";
    render();
  });

  poll(ask, { everyMs: POLL_MS }).start();
}
