// Shared by every page: show server times (UTC in the HTML) in the reader's own time zone.
"use strict";

(() => {
  const formats = {
    date: { day: "numeric", month: "short", year: "numeric" },
    datetime: { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" },
    time: { hour: "2-digit", minute: "2-digit" },
  };

  for (const element of document.querySelectorAll("time[datetime][data-format]")) {
    try {
      const moment = new Date(element.getAttribute("datetime"));
      const options = formats[element.dataset.format];
      if (!options || Number.isNaN(moment.getTime())) continue;
      element.title = moment.toLocaleString();
      element.textContent = new Intl.DateTimeFormat(undefined, options).format(moment);
    } catch {
      // Keep the server's UTC text: it is correct, just not local.
    }
  }
})();
