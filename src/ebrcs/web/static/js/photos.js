// Product photos for thumbnails: fetched once per address with the token, kept as object URLs
// for the life of the tab (a shop's catalogue is small enough; the same photo shows on many pages).
import { api, imageUrl } from "./api.js";
import { h, replace } from "./dom.js";

const byPath = new Map();
const byProduct = new Map();

/** An object URL for a protected image path (one fetch per path), or null when it has none. */
export function photoUrl(path) {
  if (!path) return Promise.resolve(null);
  if (!byPath.has(path)) byPath.set(path, imageUrl(path).catch(() => null));
  return byPath.get(path);
}

/** The path of a product's first stored photo, or null (one lookup per product). */
export function firstPhotoPath(productId) {
  if (!byProduct.has(productId)) {
    byProduct.set(
      productId,
      api(`/api/products/${productId}`)
        .then((product) => product.images.find((image) => image.url)?.url ?? null)
        .catch(() => null),
    );
  }
  return byProduct.get(productId);
}

/**
 * A square thumbnail: the photo at `path` (or the product's first photo) once it has loaded;
 * meanwhile, and when there is none, the name's first letter.
 */
export function thumb(name, { path, productId, className = "thumb" } = {}) {
  const box = h("span", { class: className, "aria-hidden": "true", text: (name || "?").slice(0, 1).toUpperCase() });
  const source = path !== undefined ? Promise.resolve(path) : productId ? firstPhotoPath(productId) : Promise.resolve(null);
  source
    .then(photoUrl)
    .then((url) => {
      if (url) replace(box, h("img", { src: url, alt: "" }));
    });
  return box;
}
