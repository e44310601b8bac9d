/** A class of the roster as the learning code needs it. */
export interface RosterEntry {
  id: number;
  name: string;
}
