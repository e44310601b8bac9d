/** The diffusion generator: denoising U-Net, noise schedules, training, DDIM sampling, replay sets
 * and the realism / privacy checks. */
export * from './schedule';
export * from './unet';
export * from './images';
export * from './train';
export * from './sample';
export * from './checks';
export * from './replay';
export * from './recipe';
