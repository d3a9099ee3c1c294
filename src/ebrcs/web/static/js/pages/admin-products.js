// Admin products: the catalogue as a grid; add a product with 1-3 photos (files or camera
// snapshots), edit, deactivate, add photos, and try recognition on a photo.
import { api, imageUrl } from "../api.js";
import { closeCamera, grab, openCamera, toJpeg } from "../camera.js";
import { h, moneyText, replace, setText } from "../dom.js";
import { formatScore, pluralKey, t } from "../i18n.js";
import { photoUrl } from "../photos.js";
import { busy, field, pageHead, showError, toast } from "../ui.js";

const MAX_PHOTOS = 3;
const PAGE_SIZE = 100;

/** An object URL of a product's first stored photo, or null when it has none. */
async function thumbnail(product) {
  if (!product.image_count) return null;
  const detail = await api(`/api/products/${product.id}`);
  const first = detail.images.find((image) => image.url);
  return first ? imageUrl(first.url) : null;
}

/**
 * A picker for up to `limit` photos from files or the camera; `photos()` gives the blobs.
 * The camera opens only when asked and closes as soon as the snapshot is taken.
 */
function photoPicker(limit, { onChange = () => {}, labelKey = "products.photos" } = {}) {
  const photos = [];
  const tray = h("div", { class: "photo-tray", "aria-live": "polite" });
  const fileInput = h("input", { type: "file", accept: "image/*", multiple: limit > 1, name: "photos", class: "photo-files" });
  const video = h("video", { muted: true, playsInline: true });
  const snapButton = h("button", { class: "btn", type: "button", i18n: "products.snap" });
  const closeButton = h("button", { class: "btn btn-ghost", type: "button", i18n: "products.closeCamera" });
  const snapPanel = h("div", { class: "snap stack", hidden: true }, video, h("div", { class: "row" }, snapButton, closeButton));
  const cameraButton = h("button", { class: "btn btn-secondary", type: "button", i18n: "products.useCamera" });
  const counter = h("span", { class: "hint" });
  let stream = null;

  function refresh() {
    replace(
      tray,
      photos.map((photo, index) =>
        h(
          "figure",
          {},
          h("img", { src: photo.url, alt: t("products.photoN", { n: index + 1 }) }),
          h("button", {
            class: "btn btn-danger btn-icon",
            type: "button",
            text: "×",
            i18nAttrs: { "aria-label": ["products.removePhoto", { n: index + 1 }] },
            onClick: () => {
              URL.revokeObjectURL(photo.url);
              photos.splice(index, 1);
              refresh();
            },
          }),
        ),
      ),
    );
    setText(counter, "products.photoCount", { n: photos.length, max: limit });
    cameraButton.disabled = photos.length >= limit;
    onChange(photos.length);
  }

  function add(blob, name) {
    if (photos.length >= limit) return toast(t("products.tooManyPhotos", { max: limit }), "error");
    photos.push({ blob, name, url: URL.createObjectURL(blob) });
    refresh();
  }

  function closeSnap() {
    closeCamera(video, stream);
    stream = null;
    snapPanel.hidden = true;
  }

  fileInput.addEventListener("change", () => {
    for (const file of fileInput.files) add(file, file.name);
    fileInput.value = "";
  });
  cameraButton.addEventListener("click", async () => {
    try {
      snapPanel.hidden = false;
      stream = await openCamera(video);
    } catch (error) {
      closeSnap();
      showError(error);
    }
  });
  snapButton.addEventListener("click", () =>
    busy(snapButton, async () => {
      add(await toJpeg(grab(video, 1280), 0.9), `snapshot-${photos.length + 1}.jpg`);
      if (photos.length >= limit) closeSnap();
    }),
  );
  closeButton.addEventListener("click", closeSnap);
  refresh();

  const element = h(
    "div",
    { class: "stack" },
    h("div", { class: "row controls" }, field(labelKey, fileInput), cameraButton),
    snapPanel,
    tray,
    counter,
  );
  return {
    element,
    photos: () => photos.slice(),
    clear: () => {
      photos.forEach((photo) => URL.revokeObjectURL(photo.url));
      photos.length = 0;
      refresh();
    },
    close: closeSnap,
  };
}

function textInput(name, props = {}) {
  return h("input", { type: "text", name, ...props });
}

function priceInput(name, value) {
  return h("input", { type: "text", name, inputMode: "decimal", pattern: "\\d{1,7}(\\.\\d{1,2})?", value: value ?? "", placeholder: "0.00" });
}

export async function render(main) {
  const grid = h("div", { class: "product-grid", "aria-live": "polite" });
  const summary = h("p", { class: "muted small" });
  const objectUrls = [];
  const cleanups = [];

  // ---- add product ----
  const addPicker = photoPicker(MAX_PHOTOS);
  cleanups.push(addPicker.close);
  const addForm = h(
    "form",
    { class: "card stack", "aria-labelledby": "add-title" },
    h("h2", { id: "add-title", i18n: "products.addTitle" }),
    field("products.name", textInput("name", { required: true, maxLength: 200 })),
    field("products.price", priceInput("price"), "products.priceHint"),
    field("products.description", h("textarea", { name: "description", maxLength: 2000 })),
    addPicker.element,
    h("div", { class: "row" }, h("button", { class: "btn", type: "submit", i18n: "products.register" })),
  );
  addForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const photos = addPicker.photos();
    if (photos.length < 1) return toast(t("products.needPhoto"), "error");
    const button = addForm.querySelector("button[type=submit]");
    busy(button, async () => {
      const data = new FormData(addForm);
      const form = new FormData();
      form.append("name", data.get("name").trim());
      if (data.get("price")) form.append("price", data.get("price"));
      if (data.get("description")) form.append("description", data.get("description"));
      photos.forEach((photo) => form.append("images", photo.blob, photo.name));
      let added;
      try {
        added = await api("/api/products", { method: "POST", form });
      } catch (error) {
        // A name already on sale is asked about first: two "Banana"s would tie in recognition.
        if (error.code !== "duplicate_product_name" || !window.confirm(t("products.confirmDuplicate", { name: form.get("name") }))) throw error;
        form.append("allow_duplicate", "true");
        added = await api("/api/products", { method: "POST", form });
      }
      toast(t(pluralKey(added.images_count, "products.addedOne", "products.addedOther"), { name: added.product_name, n: added.images_count }), "add");
      addForm.reset();
      addPicker.clear();
      await load();
    });
  });

  // ---- try recognition ----
  const tryButton = h("button", { class: "btn", type: "button", i18n: "products.recognise", disabled: true });
  const tryPicker = photoPicker(1, { onChange: (count) => (tryButton.disabled = count === 0), labelKey: "products.photo" });
  cleanups.push(tryPicker.close);
  const verdict = h("p", { class: "verdict", role: "status", hidden: true });
  const matchList = h("ol", { class: "matches", "aria-live": "polite" });
  tryButton.addEventListener("click", () =>
    busy(tryButton, async () => {
      const [photo] = tryPicker.photos();
      const form = new FormData();
      form.append("image", photo.blob, photo.name);
      const answer = await api("/api/recognize", { method: "POST", form });
      const { matches } = answer;
      showVerdict(answer);
      replace(
        matchList,
        matches.length
          ? matches.map((match) =>
              h(
                "li",
                {},
                h("span", { class: "cart-name", text: match.name }),
                h("span", { class: "money", text: formatScore(match.score) }),
                h("span", { class: "meter" }, h("span", { style: `width: ${Math.max(0, Math.min(1, match.score)) * 100}%` })),
              ),
            )
          : h("li", { class: "muted", i18n: "products.noMatches" }),
      );
    }),
  );
  /** What the live checkout would do with this item: count it, ask the shopper, or ignore it. */
  function showVerdict({ verdict: outcome, matches }) {
    verdict.hidden = !outcome;
    if (!outcome) return;
    verdict.className = `verdict ${{ accepted: "accepted", unsure: "unsure" }[outcome] ?? "rejected"}`;
    const key = { accepted: "products.verdictAccepted", unsure: "products.verdictUnsure" }[outcome] ?? "products.verdictNotProduct";
    setText(verdict, key, { name: matches[0]?.name ?? "" });
  }

  const tryCard = h(
    "section",
    { class: "card stack", "aria-labelledby": "try-title" },
    h("h2", { id: "try-title", i18n: "products.tryTitle" }),
    h("p", { class: "muted small", i18n: "products.tryHint" }),
    tryPicker.element,
    tryButton,
    verdict,
    matchList,
  );

  // ---- edit dialog ----
  const dialog = h("dialog", { "aria-labelledby": "edit-title" });
  document.body.append(dialog);
  cleanups.push(() => dialog.remove());

  /** The product's stored photos, each with a Remove button (a product keeps at least one). */
  function storedPhotos(product) {
    const tray = h("div", { class: "photo-tray", "aria-live": "polite" });
    async function refresh() {
      const detail = await api(`/api/products/${product.id}`);
      const stored = detail.images.filter((image) => image.url);
      replace(
        tray,
        stored.length
          ? stored.map((image, index) => {
              const figure = h("figure", {});
              photoUrl(image.url).then((url) => url && figure.prepend(h("img", { src: url, alt: t("products.photoN", { n: index + 1 }) })));
              figure.append(
                h("button", {
                  class: "btn btn-danger btn-icon",
                  type: "button",
                  text: "×",
                  disabled: stored.length <= 1,
                  i18nAttrs: { "aria-label": ["products.removePhoto", { n: index + 1 }] },
                  onClick: (event) =>
                    busy(event.currentTarget, async () => {
                      await api(`/api/products/${product.id}/images/${image.id}`, { method: "DELETE" });
                      changed = true;
                      await refresh();
                    }),
                }),
              );
              return figure;
            })
          : h("p", { class: "muted small", i18n: "products.noPhoto" }),
      );
    }
    refresh().catch(showError);
    return tray;
  }

  let changed = false;

  function openEditor(product) {
    const morePicker = photoPicker(MAX_PHOTOS);
    changed = false;
    const form = h(
      "form",
      { class: "card stack", method: "dialog" },
      h("h2", { id: "edit-title", i18n: "products.editTitle" }),
      field("products.name", textInput("name", { required: true, maxLength: 200, value: product.name })),
      field("products.price", priceInput("price", product.price)),
      field("products.description", h("textarea", { name: "description", maxLength: 2000, value: product.description ?? "" })),
      h("h2", { i18n: "products.storedPhotos" }),
      storedPhotos(product),
      h("h2", { i18n: "products.morePhotos" }),
      morePicker.element,
      h(
        "div",
        { class: "row" },
        h("button", { class: "btn btn-ghost", type: "button", i18n: "products.cancel", onClick: () => dialog.close() }),
        h("span", { class: "spacer" }),
        h("button", { class: "btn", type: "submit", i18n: "products.save" }),
      ),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      busy(form.querySelector("button[type=submit]"), async () => {
        const data = new FormData(form);
        await api(`/api/products/${product.id}`, {
          method: "PATCH",
          json: { name: data.get("name").trim(), price: data.get("price") || "0", description: data.get("description") || null },
        });
        const extra = morePicker.photos();
        if (extra.length) {
          const upload = new FormData();
          extra.forEach((photo) => upload.append("images", photo.blob, photo.name));
          await api(`/api/products/${product.id}/images`, { method: "POST", form: upload });
        }
        dialog.close();
        toast(t("products.saved"));
        await load();
      });
    });
    dialog.addEventListener(
      "close",
      () => {
        morePicker.close();
        if (changed) load().catch(showError);
      },
      { once: true },
    );
    replace(dialog, form);
    dialog.showModal();
  }

  // ---- grid ----
  function card(product) {
    const thumb = h("div", { class: "photo" }, h("span", { i18n: "products.noPhoto" }));
    thumbnail(product)
      .then((url) => {
        if (!url) return;
        objectUrls.push(url);
        replace(thumb, h("img", { src: url, alt: product.name }));
      })
      .catch(showError);
    const active = product.is_active;
    return h(
      "article",
      { class: `card product-card${active ? "" : " inactive"}`, dataset: { productId: product.id } },
      thumb,
      h(
        "div",
        { class: "body" },
        h("div", { class: "name", text: product.name }),
        h("div", { class: "row small" }, moneyText(product.price), h("span", { class: "spacer" }), h("span", { class: "badge badge-muted", i18n: pluralKey(product.image_count, "products.imageCountOne", "products.imageCountOther"), i18nVars: { n: product.image_count } })),
        active ? null : h("span", { class: "badge badge-danger", i18n: "products.inactive" }),
        h(
          "div",
          { class: "row card-actions" },
          h("button", { class: "btn btn-secondary btn-small", type: "button", i18n: "products.edit", onClick: () => openEditor(product) }),
          active
            ? h("button", {
                class: "btn btn-danger btn-small",
                type: "button",
                i18n: "products.deactivate",
                onClick: (event) => {
                  if (!window.confirm(t("products.confirmDeactivate", { name: product.name }))) return;
                  busy(event.currentTarget, async () => {
                    await api(`/api/products/${product.id}`, { method: "DELETE" });
                    toast(t("products.deactivated", { name: product.name }), "remove");
                    await load();
                  });
                },
              })
            : h("button", {
                class: "btn btn-secondary btn-small",
                type: "button",
                i18n: "products.reactivate",
                onClick: (event) =>
                  busy(event.currentTarget, async () => {
                    await api(`/api/products/${product.id}`, { method: "PATCH", json: { is_active: true } });
                    toast(t("products.reactivated", { name: product.name }), "add");
                    await load();
                  }),
              }),
        ),
      ),
    );
  }

  async function load() {
    const { items: products, total } = await api(`/api/products?limit=${PAGE_SIZE}&include_inactive=true`);
    objectUrls.splice(0).forEach((url) => URL.revokeObjectURL(url));
    replace(grid, products.length ? products.map(card) : h("p", { class: "empty", i18n: "products.empty" }));
    setText(summary, "products.summary", { n: total });
  }

  replace(
    main,
    pageHead("products.title", "products.subtitle"),
    h("div", { class: "grid-2" }, h("section", { class: "stack", "aria-labelledby": "catalogue-title" }, h("div", { class: "row" }, h("h2", { id: "catalogue-title", i18n: "products.catalogue" }), h("span", { class: "spacer" }), summary), grid), h("div", { class: "stack" }, addForm, tryCard)),
  );
  await load().catch(showError);
  return () => {
    cleanups.forEach((cleanup) => cleanup());
    objectUrls.forEach((url) => URL.revokeObjectURL(url));
  };
}
