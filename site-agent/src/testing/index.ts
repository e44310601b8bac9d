/** Test helpers of the site agent (`@fedciss/site-agent/testing`): never imported by production code. */
export { writeRgb, writeGrey } from './images';
export { silentHost } from './silent-host';
