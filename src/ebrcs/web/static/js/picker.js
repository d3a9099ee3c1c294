// The product picker: a dialog with a search box and photo tiles. Typing searches the catalogue
// (fuzzy, on the server); an empty box browses it. One tap, or Enter for the first tile, picks.
import { api } from "./api.js";
import { h, moneyText, replace } from "./dom.js";
import { thumb } from "./photos.js";
import { field, showError } from "./ui.js";

const SEARCH_DELAY_MS = 200;
const RESULTS = 48;

/**
 * Ask the shopper for a product. Resolves to the picked product ({id, name, price, image_url})
 * or null when the dialog is closed; the focus goes back to `opener`.
 */
export function pickProduct({ titleKey, opener }) {
  return new Promise((resolve) => {
    let results = [];
    let timer = null;
    let asked = 0;
    let picked = null;
    const search = h("input", { type: "search", name: "q", autocomplete: "off", enterKeyHint: "go", i18nAttrs: { placeholder: "bill.searchPlaceholder" } });
    const list = h("ul", { class: "picker-results", "aria-live": "polite", i18nAttrs: { "aria-label": "picker.results" } });
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
      ),
    );

    const choose = (product) => {
      picked = product;
      dialog.close();
    };

    function showResults() {
      replace(
        list,
        results.length
          ? results.map((product) =>
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
              ),
            )
          : h("li", { class: "muted", i18n: "bill.noResults" }),
      );
    }

    async function runSearch() {
      const mine = ++asked;
      const query = new URLSearchParams({ q: search.value.trim(), limit: String(RESULTS) });
      const answer = await api(`/api/products/search?${query}`);
      if (mine !== asked) return;
      results = answer.items;
      showResults();
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
