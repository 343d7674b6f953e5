// Page-script text in the page's language. The server embeds, in <script id="page-text">, the
// translations of every string the page scripts mark with gettext()/ngettext() (extracted from
// web/static by `make messages`, like the templates' strings); English pages embed nothing, as
// the English text is the message id. Placeholders are Python's %(name)s, as in the catalogs.

/** @typedef {Record<string, string | number>} Params */

/** @type {Record<string, string | string[]>} */
const texts = readTexts();
const plurals = new Intl.PluralRules(document.documentElement.lang || "en");

/** @returns {Record<string, string | string[]>} */
function readTexts() {
  const element = document.getElementById("page-text");
  if (!element || !element.textContent) return {};
  try {
    return JSON.parse(element.textContent);
  } catch {
    return {};
  }
}

/**
 * @param {string} template
 * @param {Params} params
 */
function fill(template, params) {
  return template.replace(/%\((\w+)\)[sd]/g, (whole, name) =>
    name in params ? String(params[name]) : whole,
  );
}

/**
 * The page's translation of an English text, with its %(name)s placeholders filled in.
 * @param {string} msgid
 * @param {Params} [params]
 */
export function gettext(msgid, params = {}) {
  const found = texts[msgid];
  return fill(typeof found === "string" ? found : msgid, params);
}

/**
 * Singular or plural by the page language's rule; `n` is also the %(n)s placeholder.
 * @param {string} singular
 * @param {string} plural
 * @param {number} n
 * @param {Params} [params]
 */
export function ngettext(singular, plural, n, params = {}) {
  const found = texts[singular];
  const forms = Array.isArray(found) ? found : [singular, plural];
  const form = plurals.select(n) === "one" ? forms[0] : forms[forms.length - 1];
  return fill(form, { n: n.toLocaleString(document.documentElement.lang || "en"), ...params });
}
