/** `@fedciss/ml/images`: the platform's 8-bit PNG files (label maps, images, overlays) and the
 * one resize of planar images and label maps. */
export { encodePng, decodePng, planarToPng, pngToPlanar, type RawImage } from './png';
export { resizeImage, resizeLabel } from './resize';
