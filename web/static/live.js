// /live: keeps the grid current without a reload, and suggests cities in the "Near a city" box.
// The question asked (everyone live, a name, or a city's coordinates) comes from the page data;
// the answer is POST /api/live/search, the same endpoint other clients use.
"use strict";

(() => {
  const data = window.golive.pageData();
  const list = document.querySelector("[data-testid=stream-list]");
  const empty = document.querySelector("[data-testid=empty]");
  const count = document.querySelector("[data-testid=count]");
  const searching = "slug" in data.query ? data.query.slug !== "" : true;
  const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text; // never innerHTML: titles are user text
    return node;
  }

  function liveSince(iso) {
    const moment = new Date(iso);
    if (Number.isNaN(moment.getTime())) return null;
    const time = element("time", null, timeFormat.format(moment));
    time.dateTime = iso;
    time.title = moment.toLocaleString();
    return time;
  }

  function card(stream) {
    const item = element("li", "card");
    item.dataset.slug = stream.slug;
    const link = element("a", "card__link");
    link.href = `/live/${encodeURIComponent(stream.slug)}`;
    const thumb = element("div", "card__thumb");
    thumb.setAttribute("aria-hidden", "true");
    thumb.append(
      element("span", "card__initial", (stream.ownerName || "?").slice(0, 1).toUpperCase()),
      element("span", "badge badge--live card__badge", "Live"),
    );
    const body = element("div", "card__body");
    body.append(
      element("h2", "card__title", stream.title),
      element("p", "card__streamer", stream.ownerName),
    );
    if (stream.location) {
      const distance = typeof stream.distanceKm === "number" ? ` · ${stream.distanceKm.toFixed(1)} km` : "";
      const place = element("p", "card__meta", stream.location + distance);
      place.dataset.testid = "location";
      body.append(place);
    }
    const meta = element("p", "card__meta");
    const since = stream.liveSince ? liveSince(stream.liveSince) : null;
    if (since) meta.append("Live since ", since, " · ");
    meta.append(`${stream.viewers} watching`);
    body.append(meta);
    link.append(thumb, body);
    item.append(link);
    return item;
  }

  function show(answer) {
    list.replaceChildren(...answer.streams.map(card));
    list.hidden = answer.streams.length === 0;
    empty.hidden = answer.streams.length > 0;
    const noun = answer.total === 1 ? "stream" : "streams";
    count.textContent = answer.total ? `${answer.total} ${noun} ${searching ? "found" : "on air"}` : "";
  }

  async function refresh() {
    try {
      if (!document.hidden) {
        const response = await fetch(data.searchUrl, {
          method: "POST",
          headers: { "Content-Type": "application/json", Accept: "application/json" },
          body: JSON.stringify(data.query),
        });
        if (response.ok) show(await response.json());
      }
    } catch {
      // Offline for a moment: keep what is shown and try again at the next tick.
    } finally {
      window.setTimeout(refresh, data.refreshSeconds * 1000);
    }
  }

  function suggestCities() {
    const input = document.getElementById("search-near");
    const options = document.getElementById("city-suggestions");
    let pending = 0;
    input.addEventListener("input", () => {
      window.clearTimeout(pending);
      const typed = input.value.trim();
      if (typed.length < 2) return;
      pending = window.setTimeout(async () => {
        try {
          const url = `${data.placesUrl}?q=${encodeURIComponent(typed)}`;
          const response = await fetch(url, { headers: { Accept: "application/json" } });
          if (!response.ok) return;
          const { places } = await response.json();
          options.replaceChildren(...places.map((place) => {
            const option = element("option");
            option.value = place.label;
            return option;
          }));
        } catch {
          // No suggestions this time; typing a city name still works.
        }
      }, 200);
    });
  }

  suggestCities();
  window.setTimeout(refresh, data.refreshSeconds * 1000);
})();
