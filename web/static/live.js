// /live: keeps the grid current without a reload, and suggests cities in the "Near a city" box.
// The question asked (everyone live, a name, or a city's coordinates) comes from the page data;
// the answer is POST /api/live/search, the same endpoint other clients use.
import { byId, pageData } from "./app.js";
import { getJson, poll, requestJson } from "./net.js";
import { gettext, ngettext } from "./text.js";

/**
 * @typedef {object} Card
 * @property {string} slug
 * @property {string} title
 * @property {string} ownerName
 * @property {number} viewers
 * @property {string} [location]
 * @property {number} [distanceKm]
 * @property {string} [liveSince]
 * @property {string | null} [thumbnailUrl] the newest snapshot (its address changes with each new one)
 */

const data = pageData();
const list = document.querySelector("[data-testid=stream-list]");
const empty = document.querySelector("[data-testid=empty]");
const count = document.querySelector("[data-testid=count]");
if (data && list instanceof HTMLElement && empty instanceof HTMLElement && count instanceof HTMLElement) {
  for (const image of list.querySelectorAll("img.card__image")) {
    if (image instanceof HTMLImageElement) dropWhenBroken(image);
  }
  startGrid(data, list, empty, count);
}

/**
 * A snapshot that can't be loaded (gone since the page was made) leaves the card's gradient.
 * @param {HTMLImageElement} image
 */
function dropWhenBroken(image) {
  if (image.complete && image.naturalWidth === 0) image.remove();
  else image.addEventListener("error", () => image.remove(), { once: true });
}

/**
 * @param {any} data
 * @param {HTMLElement} list
 * @param {HTMLElement} empty
 * @param {HTMLElement} count
 */
function startGrid(data, list, empty, count) {
  const searching = "slug" in data.query ? data.query.slug !== "" : true;
  // Times, distances and counts the way the page's language writes them.
  const locale = document.documentElement.lang || undefined;
  const timeFormat = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" });
  const kmFormat = new Intl.NumberFormat(locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 });

  /**
   * @param {string} tag
   * @param {string | null} [className]
   * @param {string} [text]
   */
  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text; // never innerHTML: titles are user text
    return node;
  }

  /** @param {string} iso */
  function liveSince(iso) {
    const moment = new Date(iso);
    if (Number.isNaN(moment.getTime())) return null;
    const time = /** @type {HTMLTimeElement} */ (element("time", null, timeFormat.format(moment)));
    time.dateTime = iso;
    time.title = moment.toLocaleString(locale);
    return time;
  }

  /**
   * The card's snapshot. A newer one replaces what is shown only once it has loaded, so the
   * grid's refresh never flashes the gradient between two snapshots.
   * @param {string} url
   * @param {HTMLImageElement | null} shown the same card's image before this refresh
   */
  function thumbnail(url, shown) {
    const image = /** @type {HTMLImageElement} */ (element("img", "card__image"));
    image.alt = "";
    image.width = 640;
    image.height = 360;
    image.decoding = "async";
    image.dataset.testid = "thumbnail";
    const wanted = new URL(url, window.location.href).href;
    const loaded = shown && shown.complete && shown.naturalWidth > 0 ? shown.src : "";
    if (loaded && loaded !== wanted) {
      image.src = loaded;
      const next = new Image();
      next.addEventListener("load", () => { image.src = wanted; }, { once: true });
      next.src = wanted; // not loadable: the older snapshot stays
    } else {
      image.src = wanted;
      dropWhenBroken(image);
    }
    return image;
  }

  /** @param {string} slug */
  function shownImage(slug) {
    for (const item of list.children) {
      if (item instanceof HTMLElement && item.dataset.slug === slug) {
        const image = item.querySelector("img.card__image");
        return image instanceof HTMLImageElement ? image : null;
      }
    }
    return null;
  }

  /** @param {Card} stream */
  function card(stream) {
    const item = element("li", "card");
    item.dataset.slug = stream.slug;
    const link = /** @type {HTMLAnchorElement} */ (element("a", "card__link"));
    link.href = `/live/${encodeURIComponent(stream.slug)}`;
    const thumb = element("div", "card__thumb");
    thumb.setAttribute("aria-hidden", "true");
    thumb.append(element("span", "card__initial", (stream.ownerName || "?").slice(0, 1).toUpperCase()));
    if (stream.thumbnailUrl) thumb.append(thumbnail(stream.thumbnailUrl, shownImage(stream.slug)));
    thumb.append(element("span", "badge badge--live card__badge", gettext("Live")));
    const body = element("div", "card__body");
    body.append(
      element("h2", "card__title", stream.title),
      element("p", "card__streamer", stream.ownerName),
    );
    if (stream.location) {
      const distance = typeof stream.distanceKm === "number" ? ` · ${kmFormat.format(stream.distanceKm)} km` : "";
      const place = element("p", "card__meta", stream.location + distance);
      place.dataset.testid = "location";
      body.append(place);
    }
    const meta = element("p", "card__meta");
    const since = stream.liveSince ? liveSince(stream.liveSince) : null;
    if (since) {
      // "Live since <time>": the time stays an element, so the sentence is split around it.
      const [before, after] = gettext("Live since %(time)s").split("%(time)s");
      meta.append(before ?? "", since, after ?? "", " · ");
    }
    meta.append(ngettext("%(n)s watching", "%(n)s watching", stream.viewers));
    body.append(meta);
    link.append(thumb, body);
    item.append(link);
    return item;
  }

  /** @param {{ streams: Card[], total: number }} answer */
  function show(answer) {
    list.replaceChildren(...answer.streams.map(card));
    list.hidden = answer.streams.length === 0;
    empty.hidden = answer.streams.length > 0;
    const total = answer.total;
    count.textContent = !total
      ? ""
      : searching
        ? ngettext("%(n)s stream found", "%(n)s streams found", total)
        : ngettext("%(n)s stream on air", "%(n)s streams on air", total);
  }

  async function refresh() {
    const reply = await requestJson(data.searchUrl, { method: "POST", body: data.query });
    // Offline for a moment: keep what is shown and try again later.
    if (reply.ok && reply.body) show(reply.body);
    return reply;
  }

  function suggestCities() {
    const input = byId("search-near", HTMLInputElement);
    const options = byId("city-suggestions");
    let pending = 0;
    input.addEventListener("input", () => {
      window.clearTimeout(pending);
      const typed = input.value.trim();
      if (typed.length < 2) return;
      pending = window.setTimeout(async () => {
        const reply = await getJson(`${data.placesUrl}?q=${encodeURIComponent(typed)}`);
        // No answer: no suggestions this time; typing a city name still works.
        if (!reply.ok || !Array.isArray(reply.body?.places)) return;
        /** @type {{ label: string }[]} */
        const places = reply.body.places;
        options.replaceChildren(...places.map((place) => {
          const option = /** @type {HTMLOptionElement} */ (element("option"));
          option.value = place.label;
          return option;
        }));
      }, 200);
    });
  }

  suggestCities();
  // The first answer came with the page.
  poll(refresh, { everyMs: data.refreshSeconds * 1000 }).startLater();
}
