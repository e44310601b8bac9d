/**
 * The 11 anatomical structures of the Dresden Surgical Anatomy Dataset (DSAD), with the folder
 * names the dataset uses. Class ids are NOT positions in this list: ids come from the
 * coordinator's roster (0 = background, then classes in the order they were added).
 * `@fedciss/ml/dsad`: the dataset's catalogue is no part of the learning API.
 */
export const DSAD_STRUCTURES = [
  'abdominal_wall',
  'colon',
  'inferior_mesenteric_artery',
  'intestinal_veins',
  'liver',
  'pancreas',
  'small_intestine',
  'spleen',
  'stomach',
  'ureter',
  'vesicular_glands',
] as const;

export type DsadStructure = (typeof DSAD_STRUCTURES)[number];

/** Default display colours for the console and overlays (distinct hues, readable on dark tissue). */
export const DSAD_COLORS: Record<DsadStructure, string> = {
  abdominal_wall: '#e6c86e',
  colon: '#8c564b',
  inferior_mesenteric_artery: '#d62728',
  intestinal_veins: '#1f77b4',
  liver: '#9467bd',
  pancreas: '#ff7f0e',
  small_intestine: '#e377c2',
  spleen: '#2ca02c',
  stomach: '#17becf',
  ureter: '#bcbd22',
  vesicular_glands: '#7f7f7f',
};

/** The published DSAD split by surgery (patient). */
export const DSAD_SPLIT = {
  train: ['01', '04', '05', '06', '08', '09', '10', '12', '15', '16', '17', '19', '22', '23', '24', '25', '27', '28', '29', '30', '31'],
  validation: ['03', '21', '26'],
  test: ['02', '07', '11', '13', '14', '18', '20', '32'],
} as const;

export type SplitName = keyof typeof DSAD_SPLIT;

export function isDsadStructure(name: string): name is DsadStructure {
  return (DSAD_STRUCTURES as readonly string[]).includes(name);
}
