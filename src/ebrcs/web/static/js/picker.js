// The product picker: a dialog with a search box and photo tiles. Typing searches the catalogue
// (fuzzy, on the server); an empty box browses it. One tap, or Enter for the first tile, picks.
// Answers come a page at a time; "Show more" under the tiles appends the next page.
import { api } from "./api.js";
import { h, moneyText, replace } from "./dom.js";
import { thumb } from "./photos.js";
import { field, keepingFocus, showError } from "./ui.js";

const SEARCH_DELAY_MS = 200;
const PAGE_SIZE = 48;

/**
 * Ask the shopper for a product. Resolves to the picked product ({id, name, price, image_url})
 * or null when the dialog is closed; the focus goes back to `opener`.
 */
export function pickProduct({ titleKey, opener }) {
  return new Promise((resolve) => {
    // What the tiles show: the query they answer and how many products match it in all.
    let shown = { query: "", total: 0 };
    let results = [];
    let timer = null;
    let asked = 0;
    let loadingMore = false;
    let picked = null;
    const search = h("input", { type: "search", name: "q", autocomplete: "off", enterKeyHint: "go", i18nAttrs: { placeholder: "bill.searchPlaceholder" } });
    const list = h("ul", { class: "picker-results", "aria-live": "polite", i18nAttrs: { "aria-label": "picker.results" } });
    const more = h("div", { class: "picker-more" });
    const moreButton = h("button", { class: "btn btn-secondary btn-block", type: "button", dataset: { focus: "more" }, i18n: "picker.more" });
    const closeButton = h("button", { class: "btn btn-ghost btn-icon", type: "button", text: "×", i18nAttrs: { "aria-label": "picker.close" } });
    const dialog = h(
      "dialog",
      { "aria-labelledby": "picker-title" },
      h(
        "div",
        { class: "card" },
        h("div", { class: "dialog-head" }, h("h2", { id: "picker-title", i18n: titleKey }), closeButton),
        field("bill.search", search, "picker.hint"),
        list,
        more,
      ),
    );

    const choose = (product) => {
      picked = product;
      dialog.close();
    };

    const tile = (product) =>
      h(
        "li",
        {},
        h(
          "button",
          { class: "tile", type: "button", onClick: () => choose(product) },
          thumb(product.name, { path: product.image_url }),
          h("span", { class: "tile-name", text: product.name }),
          moneyText(product.price, { class: "tile-price" }),
        ),
      );

    // "Show more" is there only while more match; if it goes while focused, the search box has the focus.
    function offerMore() {
      keepingFocus(more, () => replace(more, results.length < shown.total ? moreButton : null), [search]);
    }

    const page = (query, offset) =>
      api(`/api/products/search?${new URLSearchParams({ q: query, offset: String(offset), limit: String(PAGE_SIZE) })}`);

    async function runSearch() {
      const mine = ++asked;
      const query = search.value.trim();
      const answer = await page(query, 0);
      if (mine !== asked) return;
      shown = { query, total: answer.total };
      results = answer.items;
      replace(list, results.length ? results.map(tile) : h("li", { class: "muted", i18n: "bill.noResults" }));
      list.scrollTop = 0;
      offerMore();
    }

    async function showMore() {
      if (loadingMore) return;
      loadingMore = true;
      const base = shown;
      try {
        const answer = await page(base.query, results.length);
        // A search answered meanwhile replaced the tiles: this page belongs to the old ones.
        if (base !== shown) return;
        const tiles = answer.items.map(tile);
        results = results.concat(answer.items);
        shown.total = answer.total;
        list.append(...tiles);
        // The keyboard goes on from the first new tile, which the focus scrolls into view.
        if (document.activeElement === moreButton) tiles[0]?.querySelector("button").focus();
        offerMore();
      } finally {
        loadingMore = false;
      }
    }

    search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => runSearch().catch(showError), SEARCH_DELAY_MS);
    });
    search.addEventListener("keydown", async (event) => {
      if (event.key !== "Enter") return;
      event.preventDefault();
      // Enter right after typing: search now rather than pick from the last answer.
      clearTimeout(timer);
      try {
        await runSearch();
      } catch (error) {
        return showError(error);
      }
      if (results.length) choose(results[0]);
    });
    moreButton.addEventListener("click", () => showMore().catch(showError));
    closeButton.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      clearTimeout(timer);
      dialog.remove();
      opener?.focus();
      resolve(picked);
    });

    document.body.append(dialog);
    dialog.showModal();
    search.focus();
    runSearch().catch(showError);
  });
}
