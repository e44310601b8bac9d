import { createContext, useContext } from 'react';
import type { User } from './types';

/** The signed-in user, provided by App; pages render only when there is one. */
export const UserContext = createContext<User | null>(null);

export function useUser(): User {
  return useContext(UserContext)!;
}

export function useIsAdmin(): boolean {
  return useUser().role === 'admin';
}
